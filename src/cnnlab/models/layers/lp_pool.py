"""LpPool2d: power-mean pooling with a learnable exponent p >= 1.

Each window of K values becomes y = (mean_k |x_k|^p)^(1/p). p = 1 is average pooling of
|x|; as p grows, y rises towards max |x| (y lies between max|x| * K^(-1/p) and max|x|).
So a single learnable p lets the network pick its place between average and max pooling
(as in "generalised mean" pooling, Radenovic et al. 2018, but on |x| and per window).

Forward and backward are hand-written in `LpPool2dFunction`. Windows are gathered with
`unfold` and gradients scattered back with `fold` (its adjoint), so any kernel/stride
works, overlapping or not. For stability each window is divided by its own maximum
before raising to the power p (y = M (mean (|x|/M)^p)^(1/p) for any M > 0), so p = 64
cannot overflow, and |x| is clamped to >= eps so log|x| (needed for dy/dp) is finite.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd.function import once_differentiable


class LpPool2dFunction(torch.autograd.Function):
    """y = (mean over each window of |x|^p)^(1/p); gradients for x and the scalar p."""

    @staticmethod
    def forward(ctx, x, p, kernel_size, stride, eps):
        n, c, h, w = x.shape
        k = kernel_size[0] * kernel_size[1]
        out_h = (h - kernel_size[0]) // stride[0] + 1
        out_w = (w - kernel_size[1]) // stride[1] + 1
        # (N, C*K, L) -> (N, C, K, L): the K values of each of the L windows. Work in at
        # least float32: powers and logs are too coarse in bf16/fp16.
        work = torch.promote_types(x.dtype, torch.float32)
        cols = F.unfold(x.to(work), kernel_size, stride=stride).view(n, c, k, -1)
        a = cols.abs().clamp_min(eps)
        m = a.amax(dim=2, keepdim=True)  # per-window max, the overflow guard
        r = a / m  # in (0, 1]
        pw = p.to(work)
        q = r.pow(pw)
        s = q.mean(dim=2, keepdim=True)  # in [1/K, 1]
        y = m * s.pow(1 / pw)
        ctx.save_for_backward(cols, p, m, s, y)
        ctx.geometry = (x.shape, x.dtype, kernel_size, stride, eps, k)
        return y.view(n, c, out_h, out_w).to(x.dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_y):
        cols, p, m, s, y = ctx.saved_tensors
        x_shape, x_dtype, kernel_size, stride, eps, k = ctx.geometry
        n, c, h, w = x_shape
        g = grad_y.to(y.dtype).reshape(n, c, 1, -1)
        a = cols.abs().clamp_min(eps)
        r = a / m
        pw = p.to(y.dtype)
        q = r.pow(pw)
        grad_x = grad_p = None

        if ctx.needs_input_grad[0]:
            # dy/d|x_k| = y * |x_k|^p / (K * s * M^p * |x_k|) = y * q_k / (K * s * a_k);
            # d|x|/dx = sign(x), and 0 where the eps clamp was active.
            d_abs = y * q / (k * s * a)
            live = cols.abs() >= eps
            grad_cols = g * d_abs * torch.sign(cols) * live
            grad_x = F.fold(grad_cols.view(n, c * k, -1), (h, w), kernel_size, stride=stride)
            grad_x = grad_x.to(x_dtype)
        if ctx.needs_input_grad[1]:
            # y = M exp(log(s) / p), s = mean(r^p):  dy/dp = y/p * (mean(q log r)/s - log(s)/p)
            dq = (q * torch.log(r)).mean(dim=2, keepdim=True)
            dy_dp = (y / pw) * (dq / s - torch.log(s) / pw)
            grad_p = (g * dy_dp).sum().reshape(p.shape).to(p.dtype)
        return grad_x, grad_p, None, None, None


def _pair(v) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


def lp_pool2d(x: torch.Tensor, p: torch.Tensor, kernel_size=2, stride=None, eps: float = 1e-6):
    """Functional form: power-mean pooling with exponent `p` (a float or scalar tensor)."""
    if not torch.is_tensor(p):
        p = torch.tensor(float(p), device=x.device)
    kernel_size = _pair(kernel_size)
    stride = kernel_size if stride is None else _pair(stride)
    if x.shape[-2] < kernel_size[0] or x.shape[-1] < kernel_size[1]:
        raise ValueError(f"LpPool2d window {kernel_size} is larger than the input {tuple(x.shape[-2:])}")
    return LpPool2dFunction.apply(x, p, kernel_size, stride, eps)


def _softplus_inverse(v: float) -> float:
    return v + math.log(-math.expm1(-v))  # log(exp(v) - 1), stable for large v


class LpPool2d(nn.Module):
    """Power-mean pooling with learnable p, kept >= 1 as p = 1 + softplus(raw_p).

    `learnable=False` stores a fixed p (p = 1 allowed, which a learnt p can only approach).
    """

    def __init__(self, kernel_size=2, stride=None, p: float = 3.0, learnable: bool = True, eps: float = 1e-6):
        super().__init__()
        if p < 1 or (learnable and p <= 1):
            bound = "> 1 when learnable" if learnable else ">= 1"
            raise ValueError(f"LpPool2d needs p {bound}, got {p}")
        self.kernel_size, self.stride, self.eps = kernel_size, stride, eps
        self.learnable = learnable
        if learnable:
            self.raw_p = nn.Parameter(torch.tensor(_softplus_inverse(p - 1.0)))
        else:
            self.register_buffer("fixed_p", torch.tensor(float(p)))

    @property
    def p(self) -> torch.Tensor:
        return 1 + F.softplus(self.raw_p) if self.learnable else self.fixed_p

    def forward(self, x):
        return lp_pool2d(x, self.p, self.kernel_size, self.stride, self.eps)

    def extra_repr(self):
        p = "?" if self.p.is_meta else f"{self.p.item():.3g}"
        return f"kernel_size={self.kernel_size}, stride={self.stride}, p={p}, learnable={self.learnable}"
