"""Feature maps and first-layer filters for a fixed set of images, ready to plot as grids."""

import io

import numpy as np
import torch
import torch.nn as nn

from cnnlab.data.core import ImageData
from cnnlab.io import atomic_write_bytes
from cnnlab.models.common import eval_mode
from cnnlab.train.precision import FP32, Precision


def _is_conv_like(module: nn.Module) -> bool:
    """A leaf with a 4-D weight: nn.Conv2d or a custom conv layer."""
    weight = getattr(module, "weight", None)
    return isinstance(weight, torch.Tensor) and weight.dim() == 4


def fixed_test_images(data: ImageData, count: int = 8):
    """The same images for every model of a study: the first test image of each class in
    class order (then the next of each, and so on) until `count`.
    Returns (uint8 images, labels); `cnnlab.train.Inputs` turns the images into model inputs."""
    picks, used = [], set()
    while len(picks) < min(count, len(data.test_labels)):
        before = len(picks)
        for k in range(data.num_classes):
            rows = (data.test_labels == k).nonzero().flatten().tolist()
            row = next((r for r in rows if r not in used), None)
            if row is not None and len(picks) < count:
                picks.append(row)
                used.add(row)
        if len(picks) == before:
            break
    index = torch.tensor(picks, dtype=torch.long)
    return data.test_images[index.to(data.test_images.device)], data.test_labels[index.to(data.test_labels.device)]


def capture_activations(model: nn.Module, images: torch.Tensor, layers=None, max_channels: int = 16,
                        precision: Precision = FP32) -> dict:
    """Run `images` (normalised float (N, C, H, W), as the model takes them) through `model`
    in eval mode, with `precision` (the run's autocast dtype and layout).

    `layers`: module names whose outputs to keep, besides the first conv layer; None means
    the last conv layer. Only the first `max_channels` channels of each map are kept.
    Returns {"first_conv": name or None,
             "filters": first conv weights [out][in][kh][kw] or None,
             "layers": {name: {"type", "shape": full output shape, "maps": [N][C'][H][W]}}}
    with the first conv layer first, then the others in forward order.
    """
    if images.dtype == torch.uint8:
        raise ValueError("images must be normalised floats (see cnnlab.train.Inputs), got uint8")
    modules = dict(model.named_modules())
    wanted = list(layers or [])
    unknown = [n for n in wanted if n not in modules]
    if unknown:
        raise ValueError(f"no layer named {unknown[0]!r}; valid names include: "
                         + ", ".join(repr(n) for n in list(modules)[:20]))
    captured = {}  # name -> (type, full output shape, kept maps), in the order the calls finish
    state = {"first": None, "last": None}

    def hook(module, inputs, output, name):
        out = output[0] if isinstance(output, (tuple, list)) else output
        if not any(True for _ in module.children()) and _is_conv_like(module) and out.dim() == 4:
            state["first"] = state["first"] or name
            state["last"] = name  # with layers=None every conv is a candidate until a later one runs
        if name in wanted or name == state["first"] or (layers is None and name == state["last"]):
            kept = out.detach()[:, :max_channels].float().cpu()
            captured.setdefault(name, (type(module).__name__, list(out.shape), kept))

    handles = [m.register_forward_hook(lambda mod, i, o, name=name: hook(mod, i, o, name))
               for name, m in modules.items()]
    param = next(model.parameters(), None)
    device = param.device if param is not None else images.device
    try:
        with eval_mode(model), torch.no_grad(), precision.autocast(device):
            model(precision.apply_to_inputs(images.to(device)))
    finally:
        for h in handles:
            h.remove()

    first = state["first"]
    keep = [first] if first else []
    keep += [n for n in captured if n != first and (n in wanted or (layers is None and n == state["last"]))]
    filters = modules[first].weight.detach().float().cpu().tolist() if first else None
    return {"first_conv": first, "filters": filters,
            "layers": {n: {"type": captured[n][0], "shape": captured[n][1], "maps": captured[n][2].tolist()}
                       for n in keep}}


ACTIVATION_IMAGES = 8  # the first test image of each class, in class order


def save_activations(model: nn.Module, data: ImageData, inputs, path) -> dict:
    """Feature maps of the first conv layer and of the model's `features` output, and the
    first layer's filters, as arrays in an .npz at `path` (keys "images", "labels",
    "filters", "layer:<name>"); returns what is in it ({"first_conv", "images", "layers"},
    and "file": the .npz's name when one was written). Only (N, C, H, W) maps are kept, so
    nothing is written for a model without conv layers. `inputs`: the run's cnnlab.train.Inputs."""
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
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())
    return {**meta, "file": path.name}
