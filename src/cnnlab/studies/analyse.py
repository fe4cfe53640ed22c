"""The measurements taken after a run has trained, stored in its analysis.json.

Always: parameter count, forward MACs/FLOPs per image, total training time. Then each
analysis the study asks for, stored as `cnnlab.analysis` returns it. A diverged model's
outputs are not numbers, so only the analyses that read the training history (overfitting,
stability, gradient flow) are run for it.

Every measurement that runs the model uses the run's own precision (autocast dtype and
memory layout) and input pipeline: the confusion matrix is computed by the same
`evaluate` that measured test accuracy, so the two agree exactly.
"""

import io

import numpy as np

from cnnlab.data.core import ImageData
from cnnlab.io import atomic_write_bytes
from cnnlab.store.records import ACTIVATIONS_FILE, HISTORY_ANALYSES, check_analysis

ACTIVATION_IMAGES = 8  # the first test image of each class, in class order


def run_analyses(model, data: ImageData, config, history, grad_flow, analyses, device, run_dir,
                 inference_repeats: int = 30, sharing: int | None = 1) -> dict:
    """`config`: the run's TrainConfig; `history`: the trainer's History; `grad_flow`: the
    GradFlowRecorder used in training, or None; `sharing`: how many runs could use the device
    at once. Returns analysis.json's content, checked against the run-record schema."""
    from cnnlab.analysis.params_flops import count_flops, param_counts
    from cnnlab.train.inputs import Inputs
    from cnnlab.train.precision import resolve_precision

    precision = resolve_precision(config.precision, device)
    in_shape = data.in_shape
    flops = count_flops(model, in_shape)
    out = {
        "params": param_counts(model),
        "macs": flops["macs"],
        "flops": flops["flops"],
        "train_seconds": sum(row["train_seconds"] for row in history.epochs),
        "device": history.device,
        "precision": precision.name,
        "step_mode": history.step_mode,
        # Times (epochs, latency) measured while other runs shared the device are not
        # comparable with times measured alone: the report says which were.
        "sharing": {"runs_per_device": sharing},
    }
    if "overfitting" in analyses and history.epochs:
        from cnnlab.analysis.history import overfitting

        out["overfitting"] = overfitting(history.epochs)
    if "stability" in analyses:
        from cnnlab.analysis.history import training_stability

        out["stability"] = training_stability(history.steps["loss"], history.steps["grad_norm"])
    if "grad_flow" in analyses and grad_flow is not None:
        # The summary (first/last step, flags) plus the whole record, for the plots over time.
        out["grad_flow"] = {**grad_flow.summary(), "steps": list(grad_flow.steps),
                            "grad_norm": [list(r) for r in grad_flow.grad_norm], "shapes": list(grad_flow.shapes)}
    if history.status == "diverged":
        out["diverged_epoch"] = history.diverged_epoch
    if history.status != "done":
        return check_analysis(out, [a for a in analyses if a in HISTORY_ANALYSES], history.status,
                              len(history.epochs))

    inputs = Inputs(data, precision, device, config)
    if "confusion" in analyses:
        from cnnlab.analysis.confusion import confusion_matrix

        out["confusion"] = confusion_matrix(model, data, inputs, batch_size=config.eval_batch_size)
    if "receptive_field" in analyses:
        from cnnlab.analysis.receptive_field import receptive_field

        out["receptive_field"] = receptive_field(model, in_shape)
    if "erf" in analyses:
        out["erf"] = features_erf(model, in_shape, precision)
    if "inference" in analyses:
        from cnnlab.analysis.timing import measure_inference

        # Warm-up passes: as many as the timed ones, at most 5. A quick profile's few repeats
        # should not pay for five untimed batches of 256; one pass already builds the kernels.
        out["inference"] = measure_inference(model, in_shape, device=device, batch_sizes=(1, 256),
                                             repeats=inference_repeats, warmup=min(5, inference_repeats),
                                             precision=precision)
    if "memory" in analyses:
        from cnnlab.analysis.memory import peak_memory

        out["memory"] = peak_memory(model, data, config, device=device)
    if "activations" in analyses:
        out["activations"] = save_activations(model, data, inputs, run_dir / ACTIVATIONS_FILE)
        if out["activations"]["layers"]:
            out["activations_file"] = ACTIVATIONS_FILE
    return check_analysis(out, analyses, history.status, len(history.epochs))


def features_erf(model, in_shape, precision) -> dict:
    """Effective receptive field of the centre unit of the model's `features` output (the
    last feature map, where the theoretical field is reported too). A model whose features
    are not a feature map (a fully connected net) has none: its "map" is None and "note"
    says why."""
    from cnnlab.analysis.erf import effective_receptive_field

    try:
        return effective_receptive_field(model, in_shape, layer="features", precision=precision)
    except ValueError as e:  # features output is not (N, C, H, W)
        return {"layer": "features", "map": None, "center": None, "side": None, "fraction": None,
                "note": str(e)}


def save_activations(model, data: ImageData, inputs, path) -> dict:
    """Feature maps of the first conv layer and of the model's `features` output, and the
    first layer's filters, as arrays in an .npz (keys "images", "labels", "filters",
    "layer:<name>"); returns what is in it. Only (N, C, H, W) maps are kept, so nothing is
    written for a model without conv layers."""
    from cnnlab.analysis.activations import capture_activations, fixed_test_images

    images, labels = fixed_test_images(data, ACTIVATION_IMAGES)
    layers = ["features"] if hasattr(model, "features") else None
    captured = capture_activations(model, inputs(images), layers=layers, precision=inputs.precision)
    maps = {name: layer for name, layer in captured["layers"].items() if len(layer["shape"]) == 4}
    meta = {"first_conv": captured["first_conv"], "images": len(labels),
            "layers": {name: {"type": layer["type"], "shape": layer["shape"]} for name, layer in maps.items()}}
    if not maps:
        return meta
    arrays = {"images": images.cpu().numpy(), "labels": labels.cpu().numpy()}
    if captured["filters"] is not None:
        arrays["filters"] = np.asarray(captured["filters"], dtype=np.float32)
    for name, layer in maps.items():
        arrays[f"layer:{name}"] = np.asarray(layer["maps"], dtype=np.float32)
    atomic_write_bytes(path, _npz_bytes(arrays))
    return meta


def _npz_bytes(arrays: dict) -> bytes:
    f = io.BytesIO()
    np.savez_compressed(f, **arrays)
    return f.getvalue()
