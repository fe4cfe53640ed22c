"""The measurements taken after a run has trained, stored in its analysis.json.

Always: parameter count, forward MACs/FLOPs per image, total training time. Then each
analysis the study asks for, stored as `cnnlab.analysis` returns it. A diverged model's
outputs are not numbers, so only the analyses that read the training history (overfitting,
stability, gradient flow) are run for it.
"""

import io

import numpy as np

from cnnlab.data.core import ImageData
from cnnlab.io import atomic_write_bytes

ACTIVATIONS_FILE = "activations.npz"
ACTIVATION_IMAGES = 8  # the first test image of each class, in class order


def run_analyses(model, data: ImageData, config, history, grad_flow, analyses, device, run_dir,
                 inference_repeats: int = 30) -> dict:
    """`config`: the run's TrainConfig; `history`: the trainer's History; `grad_flow`: the
    GradFlowRecorder used in training, or None."""
    from cnnlab.analysis.params_flops import count_flops, count_params

    in_shape = data.in_shape
    flops = count_flops(model, in_shape)
    out = {
        "params": count_params(model),
        "macs": flops["macs"],
        "flops": flops["flops"],
        "train_seconds": sum(row["train_seconds"] for row in history.epochs),
        "device": history.device,
        "precision": history.precision,
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
    if history.status != "done":
        return out

    if "confusion" in analyses:
        from cnnlab.analysis.confusion import confusion_matrix

        out["confusion"] = confusion_matrix(model, data, device=device)
    if "receptive_field" in analyses:
        from cnnlab.analysis.receptive_field import receptive_field

        out["receptive_field"] = receptive_field(model, in_shape)
    if "inference" in analyses:
        from cnnlab.analysis.timing import measure_inference

        bf16 = config.precision == "bf16"
        out["inference"] = measure_inference(model, in_shape, device=device, batch_sizes=(1, 256),
                                             repeats=inference_repeats, precision="bf16" if bf16 else "fp32",
                                             channels_last=bf16)
    if "memory" in analyses:
        from cnnlab.analysis.memory import peak_memory

        out["memory"] = peak_memory(model, in_shape, batch_size=config.batch_size, device=device,
                                    num_classes=data.num_classes, optimizer=config.optimizer)
    if "activations" in analyses:
        out["activations"] = save_activations(model, data, device, run_dir / ACTIVATIONS_FILE)
        if out["activations"]["layers"]:
            out["activations_file"] = ACTIVATIONS_FILE
    return out


def save_activations(model, data: ImageData, device, path) -> dict:
    """Feature maps of the first and last conv layers and the first layer's filters, as
    arrays in an .npz (keys "images", "labels", "filters", "layer:<name>"); returns what is
    in it. Nothing is written for a model without conv layers."""
    from cnnlab.analysis.activations import capture_activations, fixed_test_images

    images, inputs, labels = fixed_test_images(data, ACTIVATION_IMAGES)
    captured = capture_activations(model, inputs.to(device))
    meta = {"first_conv": captured["first_conv"], "images": len(labels),
            "layers": {name: {"type": layer["type"], "shape": layer["shape"]}
                       for name, layer in captured["layers"].items()}}
    if not captured["layers"]:
        return meta
    arrays = {"images": images.cpu().numpy(), "labels": labels.cpu().numpy()}
    if captured["filters"] is not None:
        arrays["filters"] = np.asarray(captured["filters"], dtype=np.float32)
    for name, layer in captured["layers"].items():
        arrays[f"layer:{name}"] = np.asarray(layer["maps"], dtype=np.float32)
    atomic_write_bytes(path, _npz_bytes(arrays))
    return meta


def _npz_bytes(arrays: dict) -> bytes:
    f = io.BytesIO()
    np.savez_compressed(f, **arrays)
    return f.getvalue()
