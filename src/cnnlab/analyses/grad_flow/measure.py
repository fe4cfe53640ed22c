"""Gradient flow: per-layer gradient norms during training, to see vanishing/exploding gradients.

`GradFlowRecorder(every=N)` is a trainer callback. Every N optimizer steps, right after
backward, it stores for each parameter tensor (in the order the forward pass uses them)
the gradient L2 norm, the mean |grad| and the weight L2 norm. `grad_flow_summary` turns
the record into the numbers a report needs.

"Layers" in the summary are the weight tensors (2-D or more: conv kernels, linear
matrices); biases and norm scales are recorded but left out of the first/last-layer ratio,
because their gradients live on a different scale.
"""

import math

import torch
import torch.nn as nn

from cnnlab.models.common import weight_layers
from cnnlab.numeric import is_number
from cnnlab.train.callbacks import Callback

VANISHING_RATIO = 1e-3  # first-layer / last-layer gradient norm below this: vanishing
VANISHING_NORM = 1e-7  # any layer's gradient norm below this: vanishing
EXPLODING_NORM = 1e3  # any gradient norm above this (or not finite): exploding


class GradFlowRecorder(Callback):
    def __init__(self, every: int = 1):
        if int(every) < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.every = int(every)
        self.names: list[str] = []  # parameter tensors, in forward order
        self.shapes: list[list[int]] = []
        self.steps: list[int] = []
        self.grad_norm: list[list[float | None]] = []  # [logged step][parameter]; None: no gradient
        self.grad_abs_mean: list[list[float | None]] = []
        self.weight_norm: list[list[float]] = []
        self._seen_modules: list[str] = []
        self._handles = []

    # ---- forward order ---------------------------------------------------------------
    def on_train_start(self, model, config):
        """Watch the first forward pass to learn the order in which modules use their weights."""
        self._remove_hooks()
        if self.names:  # resumed: the order was saved in the checkpoint
            return
        self._seen_modules = []
        for name, module in model.named_modules():
            if any(True for _ in module.parameters(recurse=False)):
                self._handles.append(module.register_forward_pre_hook(
                    lambda mod, inputs, name=name: self._seen(name)))

    def _seen(self, name):
        if name not in self._seen_modules:
            self._seen_modules.append(name)

    def _remove_hooks(self):
        for h in self._handles:
            h.remove()
        self._handles = []

    def _forward_order(self, model) -> list[str]:
        """Parameters of modules in first-use order, then any unused ones in registration order."""
        modules = dict(model.named_modules())
        named = [(f"{m}.{n}" if m else n, p) for m in self._seen_modules
                 for n, p in modules[m].named_parameters(recurse=False)]
        named += list(model.named_parameters())
        order, seen = [], set()
        for name, p in named:
            if p.requires_grad and id(p) not in seen:  # a shared tensor is listed once
                seen.add(id(p))
                order.append(name)
        return order

    # ---- recording -------------------------------------------------------------------
    def wants_backward(self, step: int) -> bool:
        # The first step learns the forward order; after that, every `every` steps.
        return bool(self._handles) or not self.names or step % self.every == 0

    def after_backward(self, model, step: int):
        if self._handles or not self.names:  # the first forward pass has run: its order is known
            order = self._forward_order(model)
            self._remove_hooks()
            if not self.names:  # (a resumed run keeps the order it was saved with)
                self.names = order
                self.shapes = [list(p.shape) for p in _lookup(model, order)]
        if step % self.every:
            return
        params = _lookup(model, self.names)
        self.steps.append(int(step))
        grad_norm, grad_abs_mean, weight_norm = record_norms(params)
        self.grad_norm.append(grad_norm)
        self.grad_abs_mean.append(grad_abs_mean)
        self.weight_norm.append(weight_norm)

    # ---- saving and summarising --------------------------------------------------------
    def state_dict(self) -> dict:
        return {"every": self.every, "names": list(self.names), "shapes": [list(s) for s in self.shapes],
                "steps": list(self.steps), "grad_norm": [list(r) for r in self.grad_norm],
                "grad_abs_mean": [list(r) for r in self.grad_abs_mean],
                "weight_norm": [list(r) for r in self.weight_norm]}

    def load_state_dict(self, state: dict):
        self.every = int(state["every"])
        self.names, self.shapes, self.steps = list(state["names"]), list(state["shapes"]), list(state["steps"])
        self.grad_norm = [list(r) for r in state["grad_norm"]]
        self.grad_abs_mean = [list(r) for r in state["grad_abs_mean"]]
        self.weight_norm = [list(r) for r in state["weight_norm"]]

    def to_dict(self) -> dict:
        return self.state_dict()

    def summary(self) -> dict:
        return grad_flow_summary(self.to_dict())


def _lookup(model, names: list[str]) -> list[nn.Parameter]:
    params = dict(model.named_parameters(remove_duplicate=False))
    missing = [n for n in names if n not in params]
    if missing:
        raise ValueError(f"gradient-flow record names parameters this model lacks: {missing[:3]}")
    return [params[n] for n in names]


def record_norms(params: list[nn.Parameter]):
    """(grad L2 norms, mean |grad|, weight L2 norms) per tensor, read back in one transfer."""
    with torch.no_grad():
        rows = []
        for p in params:
            w = p.detach().float()
            if p.grad is None:
                rows.append(torch.stack([w.new_tensor(math.nan), w.new_tensor(math.nan), w.norm()]))
            else:
                g = p.grad.detach().float()
                rows.append(torch.stack([g.norm(), g.abs().mean(), w.norm()]))
        values = torch.stack(rows).tolist() if rows else []
    grad_norm = [None if p.grad is None else v[0] for p, v in zip(params, values)]
    grad_abs_mean = [None if p.grad is None else v[1] for p, v in zip(params, values)]
    weight_norm = [v[2] for v in values]
    return grad_norm, grad_abs_mean, weight_norm


def _point(record: dict, i: int, layers: list[int]) -> dict:
    """Summary of logged step number `i`: values, first/last-layer ratio and the two flags."""
    grad_norm = record["grad_norm"][i]
    layer_norms = [grad_norm[j] for j in layers if grad_norm[j] is not None]
    first = layer_norms[0] if layer_norms else None
    last = layer_norms[-1] if layer_norms else None
    ratio = first / last if is_number(first) and is_number(last) and last > 0 else None
    present = [g for g in grad_norm if g is not None]
    values = present + [w for w in record["weight_norm"][i] if w is not None]
    exploding = any(not math.isfinite(v) for v in values) or any(g > EXPLODING_NORM for g in present)
    vanishing = (ratio is not None and ratio < VANISHING_RATIO) or any(
        is_number(g) and g < VANISHING_NORM for g in layer_norms)
    return {"step": record["steps"][i], "grad_norm": grad_norm, "grad_abs_mean": record["grad_abs_mean"][i],
            "weight_norm": record["weight_norm"][i], "first_layer_grad_norm": first,
            "last_layer_grad_norm": last, "ratio_first_last": ratio,
            "vanishing": bool(vanishing), "exploding": bool(exploding)}


def grad_flow_summary(record: dict) -> dict:
    """From `GradFlowRecorder.to_dict()`: values at the first and last logged steps.

    Returns {"names", "layer_names" (weight tensors used for the ratio), "logged_steps",
             "first": point, "last": point, "vanishing": any logged step vanishing,
             "exploding": any logged step exploding, "vanishing_steps", "exploding_steps"}
    where a point is {"step", "grad_norm", "grad_abs_mean", "weight_norm" (lists aligned
    with names), "first_layer_grad_norm", "last_layer_grad_norm", "ratio_first_last"
    (first / last, None if undefined), "vanishing", "exploding"}.
    vanishing: ratio < 1e-3 or a layer's gradient norm < 1e-7;
    exploding: a gradient norm > 1e3, or any gradient or weight norm not finite.
    """
    names = record["names"]
    layers = weight_layers(record["shapes"])
    n = len(record["steps"])
    points = [_point(record, i, layers) for i in range(n)]
    return {"names": list(names), "layer_names": [names[j] for j in layers], "logged_steps": n,
            "first": points[0] if points else None, "last": points[-1] if points else None,
            "vanishing": any(p["vanishing"] for p in points), "exploding": any(p["exploding"] for p in points),
            "vanishing_steps": [p["step"] for p in points if p["vanishing"]],
            "exploding_steps": [p["step"] for p in points if p["exploding"]]}
