"""Parameter counts and forward-pass FLOPs.

FLOPs come from `torch.utils.flop_counter.FlopCounterMode`, which counts the matrix
multiplications and convolutions of a real forward pass (2 FLOPs per multiply-add; bias
adds, activations, norms and pooling are not counted). MACs = FLOPs / 2.
"""

import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode

from cnnlab.models.common import count_params, eval_mode


def param_counts(model: nn.Module) -> dict:
    """{"total": int, "trainable": int} over unique parameter tensors (shared ones count once)."""
    return {"total": count_params(model), "trainable": count_params(model, trainable_only=True)}


def module_flop_calls(model: nn.Module, in_shape, batch_size: int = 1) -> list[dict]:
    """One forward pass; for every module call, in the order the calls finish:
    {"name", "type", "leaf": bool, "flops"}. A container's flops include its children's."""
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    x = torch.zeros(batch_size, *[int(s) for s in in_shape], device=device)
    counter = FlopCounterMode(display=False)
    calls, started = [], {}

    def pre_hook(module, inputs, name):
        started.setdefault(name, []).append(counter.get_total_flops())

    def post_hook(module, inputs, output, name):
        before = started[name].pop()
        calls.append({"name": name, "type": type(module).__name__,
                      "leaf": not any(True for _ in module.children()),
                      "flops": int(counter.get_total_flops() - before)})

    handles = []
    for name, m in model.named_modules():
        handles.append(m.register_forward_pre_hook(lambda mod, i, name=name: pre_hook(mod, i, name)))
        handles.append(m.register_forward_hook(lambda mod, i, o, name=name: post_hook(mod, i, o, name)))
    try:  # count the inference graph (no dropout, BatchNorm with running statistics)
        with eval_mode(model), torch.no_grad(), counter:
            model(x)
    finally:
        for h in handles:
            h.remove()
    return calls


def count_flops(model: nn.Module, in_shape, batch_size: int = 1) -> dict:
    """Forward FLOPs and MACs for a batch of `batch_size` images of shape `in_shape` (C, H, W).

    Returns {"batch_size", "flops", "macs",
             "per_module": {name: {"type", "flops", "macs", "calls"}}} where "" is the whole
    model and a container's numbers include its children's (as in FlopCounterMode's table).
    """
    per_module = {}
    for call in module_flop_calls(model, in_shape, batch_size):
        entry = per_module.setdefault(call["name"], {"type": call["type"], "flops": 0, "macs": 0, "calls": 0})
        entry["flops"] += call["flops"]
        entry["macs"] = entry["flops"] // 2
        entry["calls"] += 1
    # Order from the input to the output, the whole model first.
    order = {name: i for i, (name, _) in enumerate(model.named_modules())}
    per_module = dict(sorted(per_module.items(), key=lambda kv: order.get(kv[0], len(order))))
    total = per_module.get("", {"flops": 0})["flops"]
    return {"batch_size": int(batch_size), "flops": total, "macs": total // 2, "per_module": per_module}
