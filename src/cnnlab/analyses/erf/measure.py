"""Effective receptive field (Luo et al., NeurIPS 2016): how much each input pixel actually
influences the centre unit of a layer, as opposed to the theoretical field it could see.

We set the gradient of the layer's output to 1 at the centre position (all channels) and
0 elsewhere, backpropagate to a batch of random inputs, and average |d out / d input|
over the batch (summed over input channels). The map is normalised to sum to 1. The
forward pass runs in the given precision (a run's autocast dtype and memory layout), so a
bf16-trained model is measured as it computes.
"""

import torch
import torch.nn as nn

from cnnlab.models.common import eval_mode
from cnnlab.train.precision import FP32, Precision


class _Stop(Exception):
    """Raised by the hook once the chosen layer has run: the rest of the forward is not needed."""


def _layer_by_name(model: nn.Module, layer) -> tuple[str, nn.Module]:
    modules = dict(model.named_modules())
    if isinstance(layer, nn.Module):
        for name, m in modules.items():
            if m is layer:
                return name, m
        raise ValueError("the given layer is not a submodule of the model")
    if layer not in modules:
        valid = ", ".join(repr(n) for n in list(modules)[:20])
        raise ValueError(f"no layer named {layer!r}; valid names include: {valid}")
    return layer, modules[layer]


def _side_holding(mass: torch.Tensor, center, fraction: float) -> int:
    """Side of the smallest odd square centred on `center` that holds `fraction` of the mass."""
    h, w = mass.shape
    total = float(mass.sum())
    r, c = center
    for half in range(max(h, w)):
        window = mass[max(r - half, 0):r + half + 1, max(c - half, 0):c + half + 1]
        if float(window.sum()) >= fraction * total * (1 - 1e-9):
            return 2 * half + 1
    return 2 * max(h, w) - 1


def effective_receptive_field(model: nn.Module, in_shape, layer="", batch_size: int = 16, seed: int = 0,
                              fraction: float = 0.95, precision: Precision = FP32) -> dict:
    """ERF of the centre unit of `layer` (a module name from named_modules(), "" = the whole
    model, or the module itself), whose output must be (N, C, H, W).

    Returns {"layer", "map": H x W list of floats summing to 1 (input pixels),
             "center": [row, col] (the map's centre of mass, rounded), "side": side of the
             smallest centred square holding `fraction` of the mass (None if the map is all 0),
             "fraction", "batch_size", "unit": [row, col] of the chosen unit in the layer output}.
    """
    name, module = _layer_by_name(model, layer)
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    gen = torch.Generator(device="cpu").manual_seed(seed)
    x = torch.randn(batch_size, *[int(s) for s in in_shape], generator=gen).to(device).requires_grad_(True)
    captured = {}

    def hook(mod, inputs, output):
        captured["out"] = output[0] if isinstance(output, (tuple, list)) else output
        raise _Stop

    handle = module.register_forward_hook(hook)
    try:
        with eval_mode(model), precision.autocast(device):
            model(precision.apply_to_inputs(x))
    except _Stop:
        pass
    finally:
        handle.remove()
    out = captured.get("out")
    if out is None or out.dim() != 4:
        shape = None if out is None else list(out.shape)
        raise ValueError(f"layer {name!r} must output (N, C, H, W) feature maps, got shape {shape}")

    unit = (out.shape[2] // 2, out.shape[3] // 2)
    seed_grad = torch.zeros_like(out)
    seed_grad[:, :, unit[0], unit[1]] = 1
    (grad,) = torch.autograd.grad(out, x, grad_outputs=seed_grad)
    mass = grad.detach().abs().sum(1).mean(0).double().cpu()
    total = float(mass.sum())
    if total > 0:
        mass = mass / total
        rows, cols = torch.meshgrid(torch.arange(mass.shape[0]), torch.arange(mass.shape[1]), indexing="ij")
        center = [int(round(float((mass * rows).sum()))), int(round(float((mass * cols).sum())))]
        side = _side_holding(mass, center, fraction)
    else:
        center, side = [mass.shape[0] // 2, mass.shape[1] // 2], None
    return {"layer": name, "map": mass.float().tolist(), "center": center, "side": side,
            "fraction": fraction, "batch_size": batch_size, "unit": list(unit)}


def features_erf(model: nn.Module, in_shape, precision: Precision = FP32) -> dict:
    """Effective receptive field of the centre unit of the model's `features` output (the
    last feature map, where the theoretical field is reported too). A model whose features
    are not a feature map (a fully connected net) has none: its "map" is None and "note"
    says why."""
    try:
        return effective_receptive_field(model, in_shape, layer="features", precision=precision)
    except ValueError as e:  # features output is not (N, C, H, W)
        return {"layer": "features", "map": None, "center": None, "side": None, "fraction": None,
                "note": str(e)}
