"""Checking a hand-written backward pass, the way the built-in custom layers are checked: its
gradients against finite differences in float64 (`torch.autograd.gradcheck`), with the largest
absolute and relative error of each input; against autograd's own gradients of the same forward,
where that forward is made of differentiable torch operations; and its forward and backward time
beside a reference layer's. `cnnlab check-layer` and `cnnlab.check_layer`.

What can be checked: a `torch.autograd.Function` subclass (its `apply` on the inputs), an
`nn.Module` (a class built with no arguments, or an instance; its parameters are checked as
inputs too), or any function of tensors.
"""

import copy
import inspect
import statistics
import time
from dataclasses import dataclass, field

import torch
import torch.nn as nn
from torch.func import functional_call

TOLERANCE = {"atol": 1e-5, "rtol": 1e-3}  # torch.autograd.gradcheck's, in float64
AGREE = 1e-6  # float64 gradients of the same forward, by hand and by autograd, agree far closer than this


@dataclass
class InputError:
    name: str
    shape: tuple
    max_abs: float
    max_rel: float


@dataclass
class LayerCheck:
    passed: bool  # gradcheck in float64 (and, where compared, agreement with autograd)
    errors: list[InputError]  # against finite differences, per input
    autograd: list[InputError] | None = None  # against autograd's gradients of the same forward
    autograd_note: str = ""
    times: dict = field(default_factory=dict)  # {"layer"|"reference": {"forward_ms", "backward_ms"}}
    message: str = ""


class _Context:
    """What `Function.forward(ctx, ...)` may use, for calling a forward directly under autograd."""

    def __init__(self, n):
        self.needs_input_grad = (True,) * n
        self.saved_tensors = ()

    def save_for_backward(self, *tensors):
        self.saved_tensors = tensors

    def mark_non_differentiable(self, *args):
        pass

    def mark_dirty(self, *args):
        pass

    def set_materialize_grads(self, value):
        pass


def as_function(layer, inputs: list[torch.Tensor], dtype=torch.float64):
    """(f, inputs with the layer's parameters appended, names of all of them, the plain forward of an
    autograd.Function or None): what gradcheck differentiates. A module is copied to `dtype`."""
    names = [f"input {i}" for i in range(len(inputs))]
    if inspect.isclass(layer) and issubclass(layer, torch.autograd.Function):
        def plain(*xs):
            return layer.forward(_Context(len(xs)), *xs)
        return layer.apply, inputs, names, plain
    if inspect.isclass(layer) and issubclass(layer, nn.Module):
        layer = layer()
    if isinstance(layer, nn.Module):
        module = copy.deepcopy(layer).to(dtype)
        params = {n: p.detach().clone().requires_grad_() for n, p in module.named_parameters()}
        keys = list(params)

        def f(*tensors):
            x, values = tensors[:len(inputs)], tensors[len(inputs):]
            return functional_call(module, dict(zip(keys, values)), x)
        return f, [*inputs, *params.values()], [*names, *(f"parameter {k}" for k in keys)], None
    if callable(layer):
        return layer, inputs, names, None
    raise TypeError(f"not a layer: {type(layer).__name__} (give an autograd.Function, an nn.Module or a function)")


def _jacobians(f, inputs) -> list[torch.Tensor]:
    return list(torch.autograd.functional.jacobian(lambda *xs: f(*xs), tuple(inputs)))


def _numerical(f, inputs, eps: float = 1e-6) -> list[torch.Tensor]:
    """Central finite differences of each input (float64): d output / d input."""
    with torch.no_grad():
        out = f(*inputs)
        result = []
        for i, x in enumerate(inputs):
            jac = torch.zeros(*out.shape, *x.shape, dtype=torch.float64)
            flat = x.view(-1)
            for j in range(flat.numel()):
                saved = flat[j].item()
                flat[j] = saved + eps
                up = f(*inputs)
                flat[j] = saved - eps
                down = f(*inputs)
                flat[j] = saved
                jac.view(*out.shape, -1)[..., j] = (up - down) / (2 * eps)
            result.append(jac)
    return result


def _errors(names, inputs, got, want) -> list[InputError]:
    out = []
    for name, x, a, b in zip(names, inputs, got, want):
        diff = (a - b).abs()
        scale = b.abs().clamp_min(1e-12)
        out.append(InputError(name, tuple(x.shape), float(diff.max()) if diff.numel() else 0.0,
                              float((diff / scale)[b.abs() > 1e-8].max()) if (b.abs() > 1e-8).any() else 0.0))
    return out


def _time(f, inputs, repeats: int) -> dict:
    forward, backward = [], []
    for i in range(repeats + 2):
        xs = [x.detach().clone().requires_grad_(x.is_floating_point()) for x in inputs]
        start = time.perf_counter()
        out = f(*xs)
        middle = time.perf_counter()
        out.sum().backward()
        end = time.perf_counter()
        if i >= 2:
            forward.append((middle - start) * 1e3)
            backward.append((end - middle) * 1e3)
    return {"forward_ms": statistics.median(forward), "backward_ms": statistics.median(backward)}


def check_layer(layer, *inputs: torch.Tensor, reference=None, repeats: int = 20, seed: int = 0) -> LayerCheck:
    """Check `layer`'s backward pass on `inputs` (tensors; converted to float64 for the checks).
    `reference`: a function or layer of the same inputs to time the layer against."""
    torch.manual_seed(seed)
    inputs = [x.detach().double().requires_grad_(x.is_floating_point()) for x in inputs]
    f, all_inputs, names, plain = as_function(layer, inputs)
    all_inputs = [x.detach().clone().requires_grad_(x.is_floating_point()) for x in all_inputs]
    passed = torch.autograd.gradcheck(f, tuple(all_inputs), raise_exception=False, **TOLERANCE)
    analytic = _jacobians(f, all_inputs)
    numeric = _numerical(f, [x.detach().clone() for x in all_inputs])
    result = LayerCheck(passed=bool(passed), errors=_errors(names, all_inputs, analytic, numeric))
    if plain is not None:
        try:
            own = _jacobians(plain, all_inputs)
            result.autograd = _errors(names, all_inputs, analytic, own)
            agree = all(e.max_abs <= AGREE or e.max_rel <= AGREE for e in result.autograd)
            result.passed = result.passed and agree
        except Exception as e:  # an in-place or non-differentiable forward: nothing to compare with
            result.autograd_note = f"not compared: autograd cannot differentiate the forward itself ({type(e).__name__})"
    else:
        result.autograd_note = "not compared: only an autograd.Function's own forward can be differentiated apart"
    floats = [x.detach().float() for x in inputs]
    for who, timed in (("layer", layer), ("reference", reference)):
        if timed is None:
            continue
        f32, with_params, _, _ = as_function(timed, floats, torch.float32)
        result.times[who] = _time(f32, [x.detach().clone() for x in with_params], repeats)
    return result
