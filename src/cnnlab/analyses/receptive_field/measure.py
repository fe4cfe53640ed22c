"""Theoretical receptive field of every layer, traced from one forward pass.

Each tensor carries, per spatial axis, three numbers (Araujo et al., "Computing receptive
fields of convolutional neural networks", Distill 2019):

- size:  how many input pixels one unit of the tensor can see;
- jump:  the distance, in input pixels, between two neighbouring units (effective stride);
- start: where the field of the first unit is centred, in input pixel coordinates
         (pixel i has its centre at i, so a padded 3x3 conv keeps start = 0).

A window op (conv, pool) with kernel k, stride s, left padding p, dilation d maps
(size, jump, start) to (size + (k_eff - 1) * jump, jump * s, start + ((k_eff - 1) / 2 - p) * jump)
with k_eff = d * (k - 1) + 1.

How it is traced: a `TorchFunctionMode` sees every torch call of a real forward pass (module
or functional, inside custom layers too) and maps each output tensor to its field:
- conv1d/2d/3d, max/avg/Lp pooling, adaptive pooling and F.pad use the formula above;
- global pooling (any pooling whose output has one position, from an input with more) mixes
  all positions: its field is the extent of the whole input and jump becomes None, so the
  last layer that still has a jump is the last spatial one;
- an op whose output has the same spatial grid as its inputs (activations, norms, dropout,
  `a + b` of a residual block, channel concat) takes the union of its inputs' fields, so a
  residual block gets the field of its longer branch;
- any other op whose output grid differs from an input's (flatten, view, linear after
  flatten, mean over H and W, attention reshapes) is taken to mix all positions of that
  input: its field becomes the extent of the whole input tensor and jump becomes None.

Limits: upsampling, strided slicing (`x[..., ::2]`) and transposed convs fall in the
last case, so their field is an upper bound. A custom leaf module whose internals lose
the spatial layout (a conv written with unfold + matmul) is handled if it exposes
`kernel_size` (and optionally `stride`, `padding`, `dilation`) like nn.Conv2d, or a
weight shaped like a conv weight.
"""

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
from torch.overrides import TorchFunctionMode

from cnnlab.models.common import eval_mode


@dataclass(frozen=True)
class Field:
    size: tuple[int, ...]  # per spatial axis, in input pixels
    jump: tuple[int, ...] | None  # None once positions have been mixed (flatten, global pooling)
    start: tuple[float, ...]

    def to_dict(self) -> dict:
        return {"rf": list(self.size), "jump": None if self.jump is None else list(self.jump),
                "start": list(self.start)}


def _int_if_whole(x):
    return int(x) if float(x).is_integer() else x


def _window(f: Field, kernel, stride, padding, dilation) -> Field:
    """The field after a sliding window (conv or pool) over a tensor whose field is `f`."""
    if f.jump is None:  # positions already mixed: a window cannot widen the field further
        return f
    size, jump, start = [], [], []
    for a in range(len(f.size)):
        k_eff = dilation[a] * (kernel[a] - 1) + 1
        size.append(f.size[a] + (k_eff - 1) * f.jump[a])
        start.append(_int_if_whole(f.start[a] + ((k_eff - 1) / 2 - padding[a]) * f.jump[a]))
        jump.append(f.jump[a] * stride[a])
    return Field(tuple(size), tuple(jump), tuple(start))


def _mix_positions(f: Field, spatial_shape) -> Field:
    """Field of a unit that sees every position of a tensor with field `f` and this grid."""
    if f.jump is None:
        return f
    size = tuple(f.size[a] + (n - 1) * f.jump[a] for a, n in enumerate(spatial_shape))
    start = tuple(_int_if_whole(f.start[a] + (n - 1) * f.jump[a] / 2) for a, n in enumerate(spatial_shape))
    return Field(size, None, start)


def _union(fields: list[Field]) -> Field:
    """The smallest field covering all of `fields` (residual sums, concatenation)."""
    if len(fields) == 1:
        return fields[0]
    size, start = [], []
    for a in range(len(fields[0].size)):
        lo = min(f.start[a] - (f.size[a] - 1) / 2 for f in fields)
        hi = max(f.start[a] + (f.size[a] - 1) / 2 for f in fields)
        size.append(math.ceil(hi - lo + 1))
        start.append(_int_if_whole((lo + hi) / 2))
    jumps = [f.jump for f in fields if f.jump is not None]
    jump = tuple(max(j[a] for j in jumps) for a in range(len(size))) if jumps else None
    return Field(tuple(size), jump, tuple(start))


# ---- reading the arguments of window ops -------------------------------------------------

def _arg(args, kwargs, index, name, default=None):
    if name in kwargs:
        return kwargs[name]
    return args[index] if len(args) > index else default


def _per_axis(value, n, default):
    if value is None or (isinstance(value, (tuple, list)) and len(value) == 0):
        value = default
    if isinstance(value, (tuple, list)):
        return tuple(int(v) for v in value) if len(value) == n else tuple(int(value[0]) for _ in range(n))
    return (int(value),) * n


def _conv_padding(padding, kernel, dilation, n):
    if padding == "valid":
        return (0,) * n
    if padding == "same":  # PyTorch puts the odd pixel of an even total on the right
        return tuple(dilation[a] * (kernel[a] - 1) // 2 for a in range(n))
    return _per_axis(padding, n, 0)


def _conv_rule(args, kwargs, f, n):
    kernel = tuple(_arg(args, kwargs, 1, "weight").shape[2:])
    stride = _per_axis(_arg(args, kwargs, 3, "stride", 1), n, 1)
    dilation = _per_axis(_arg(args, kwargs, 5, "dilation", 1), n, 1)
    padding = _conv_padding(_arg(args, kwargs, 4, "padding", 0), kernel, dilation, n)
    return _window(f, kernel, stride, padding, dilation)


def _pool_rule(kernel_index, has_dilation):
    def rule(args, kwargs, f, n):
        kernel = _per_axis(_arg(args, kwargs, kernel_index, "kernel_size"), n, 1)
        stride = _per_axis(_arg(args, kwargs, kernel_index + 1, "stride"), n, kernel)
        padding = (0,) * n
        if kernel_index == 1:  # lp_pool has no padding argument
            padding = _per_axis(_arg(args, kwargs, 3, "padding", 0), n, 0)
        dilation = _per_axis(_arg(args, kwargs, 4, "dilation", 1), n, 1) if has_dilation else (1,) * n
        return _window(f, kernel, stride, padding, dilation)
    return rule


def _pad_rule(args, kwargs, f, n):
    pad = list(_arg(args, kwargs, 1, "pad"))
    # F.pad lists (left, right) pairs starting from the last axis.
    left = tuple(pad[2 * (n - 1 - a)] if 2 * (n - 1 - a) < len(pad) else 0 for a in range(n))
    if f.jump is None:
        return f
    start = tuple(_int_if_whole(f.start[a] - left[a] * f.jump[a]) for a in range(n))
    return Field(f.size, f.jump, start)


_RULES = {}
for _d in (1, 2, 3):
    _RULES[f"conv{_d}d"] = _conv_rule
    _RULES[f"max_pool{_d}d"] = _pool_rule(1, has_dilation=True)
    _RULES[f"max_pool{_d}d_with_indices"] = _pool_rule(1, has_dilation=True)
    _RULES[f"avg_pool{_d}d"] = _pool_rule(1, has_dilation=False)
    _RULES[f"lp_pool{_d}d"] = _pool_rule(2, has_dilation=False)
_RULES["pad"] = _pad_rule
_ADAPTIVE = {f"adaptive_{kind}_pool{d}d" for kind in ("avg", "max") for d in (1, 2, 3)}


def _adaptive_rule(f, in_spatial, out_spatial):
    """Adaptive pooling from n to m positions uses windows of about ceil(n/m), stride n//m."""
    kernel = tuple(math.ceil(i / o) for i, o in zip(in_spatial, out_spatial))
    stride = tuple(max(i // o, 1) for i, o in zip(in_spatial, out_spatial))
    n = len(in_spatial)
    return _window(f, kernel, stride, (0,) * n, (1,) * n)


def _is_global(in_spatial, out_spatial) -> bool:
    """A pooling whose output is one position, from several, pools globally: no jump after it."""
    return len(out_spatial) == len(in_spatial) and math.prod(out_spatial) == 1 and math.prod(in_spatial) > 1


def _tensors(obj):
    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            yield from _tensors(item)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from _tensors(item)


class _FieldTracer(TorchFunctionMode):
    """Maps every tensor produced during a forward pass to its receptive field."""

    def __init__(self):
        super().__init__()
        self.fields: dict[int, tuple[torch.Tensor, Field]] = {}  # id -> (tensor kept alive, field)

    def get(self, t: torch.Tensor) -> Field | None:
        entry = self.fields.get(id(t))
        return entry[1] if entry is not None and entry[0] is t else None

    def set(self, t: torch.Tensor, f: Field | None):
        if f is not None:
            self.fields[id(t)] = (t, f)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        outputs = list(_tensors(out))
        inputs = [t for t in _tensors((args, kwargs)) if self.get(t) is not None]
        if not outputs or not inputs:
            return out
        name = getattr(func, "__name__", "")
        first = inputs[0]
        n = first.dim() - 2
        if "pool" in name and n >= 1 and _is_global(first.shape[2:], outputs[0].shape[2:]):
            f = _mix_positions(self.get(first), first.shape[2:])
        elif name in _RULES and n >= 1:
            f = _RULES[name](args, kwargs, self.get(first), n)
        elif name in _ADAPTIVE and n >= 1:
            f = _adaptive_rule(self.get(first), first.shape[2:], outputs[0].shape[2:])
        else:
            f = None
        for i, t in enumerate(outputs):
            if f is not None and i == 0:
                self.set(t, f)
            elif f is None:
                self.set(t, self._generic(inputs, t))
        return out

    def _generic(self, inputs, out: torch.Tensor) -> Field:
        """Same grid: union of the inputs' fields; otherwise the positions are mixed."""
        fields = []
        for t in inputs:
            same_grid = t.dim() == out.dim() and t.shape[2:] == out.shape[2:]
            fields.append(self.get(t) if same_grid else _mix_positions(self.get(t), t.shape[2:]))
        return _union(fields)


def _is_torch_builtin(module: nn.Module) -> bool:
    return type(module).__module__.startswith("torch.")


def _infer_stride(size_in: int, size_out: int, k_eff: int, padding: int) -> int:
    """The smallest stride that turns `size_in` positions into `size_out` with this window."""
    if size_out <= 1:
        return max(k_eff, 1)
    for s in range(1, size_in + 1):
        if (size_in + 2 * padding - k_eff) // s + 1 == size_out:
            return s
    return 1


def _custom_window_field(module: nn.Module, f: Field, in_spatial, out_spatial) -> Field | None:
    """For a custom conv/pool module whose internals lost the spatial layout, use its attributes
    (kernel_size, stride, padding, dilation as nn.Conv2d names them); a missing or None stride
    is inferred from the input and output sizes."""
    n = len(in_spatial)
    kernel = getattr(module, "kernel_size", None)
    weight = getattr(module, "weight", None)
    if kernel is None and isinstance(weight, torch.Tensor) and weight.dim() == n + 2:
        kernel = tuple(weight.shape[2:])
    if kernel is None:
        return None
    kernel = _per_axis(kernel, n, 1)
    dilation = _per_axis(getattr(module, "dilation", 1), n, 1)
    padding = _conv_padding(getattr(module, "padding", 0), kernel, dilation, n)
    stride = getattr(module, "stride", None)
    if stride is None:
        stride = tuple(_infer_stride(in_spatial[a], out_spatial[a], dilation[a] * (kernel[a] - 1) + 1, padding[a])
                       for a in range(n))
    stride = _per_axis(stride, n, 1)
    return _window(f, kernel, stride, padding, dilation)


def _first_tensor(obj):
    return next(_tensors(obj), None)


def trace_fields(model: nn.Module, in_shape) -> tuple[list[dict], Field | None]:
    """Run one forward pass of a batch of one; return a row per leaf-module call and the
    field of the model's output. Rows: name, type, out_shape (no batch dim), field."""
    in_shape = tuple(int(s) for s in in_shape)
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    x = torch.zeros(1, *in_shape, device=device)
    n = len(in_shape) - 1
    tracer = _FieldTracer()
    tracer.set(x, Field((1,) * n, (1,) * n, (0,) * n))
    rows = []

    def hook(module, inputs, output, name):
        out = _first_tensor(output)
        if out is None:
            return
        f = tracer.get(out)
        inp = _first_tensor(inputs)
        f_in = tracer.get(inp) if inp is not None else None
        lost_layout = f is None or (f.jump is None and f_in is not None and f_in.jump is not None)
        if (lost_layout and f_in is not None and not _is_torch_builtin(module)
                and out.dim() == n + 2 and inp.dim() == n + 2):
            custom = _custom_window_field(module, f_in, inp.shape[2:], out.shape[2:])
            if custom is not None:
                f = custom
                tracer.set(out, f)
        rows.append({"name": name, "type": type(module).__name__,
                     "out_shape": list(out.shape[1:]), "field": f})

    leaves = [(name, m) for name, m in model.named_modules() if not any(True for _ in m.children())]
    handles = [m.register_forward_hook(lambda mod, i, o, name=name: hook(mod, i, o, name))
               for name, m in leaves]
    try:  # eval mode: with a batch of one, BatchNorm must use its running statistics
        with eval_mode(model), torch.no_grad(), tracer:
            out = model(x)
    finally:
        for h in handles:
            h.remove()
    out = _first_tensor(out)
    return rows, (tracer.get(out) if out is not None else None)


def receptive_field(model: nn.Module, in_shape) -> dict:
    """Per leaf-module call in execution order: the theoretical receptive field of its output.

    Returns {"in_shape": [C, H, W],
             "layers": [{"name", "type", "out_shape", "rf": [per axis], "jump": [per axis] or None,
                         "start": [per axis]}, ...],
             "output": {"rf", "jump", "start"} for the model's output (or None)}.
    rf/jump/start are None for a layer that does not depend on the input.
    """
    rows, out_field = trace_fields(model, in_shape)
    layers = []
    for row in rows:
        f = row.pop("field")
        layers.append({**row, **(f.to_dict() if f is not None else {"rf": None, "jump": None, "start": None})})
    return {"in_shape": [int(s) for s in in_shape], "layers": layers,
            "output": out_field.to_dict() if out_field is not None else None}
