"""Learnable activations with hand-written forward and backward.

* `Swish(beta)`: f(x) = x * sigmoid(beta * x) (Ramachandran et al. 2017). beta=1 is SiLU;
  beta -> inf approaches ReLU; beta = 0 is x / 2.
* `LeakySwish(a, beta)` (this project's design): f(x) = x * (a + (1 - a) * sigmoid(beta * x)).
  The gate runs from `a` (x -> -inf) to 1 (x -> +inf), so negative inputs keep a gradient of
  about `a`, unlike Swish whose negative tail dies out. It contains SiLU (a=0, beta=1),
  Swish (a=0), LeakyReLU(a) (beta -> inf) and the identity (a=1); a and beta are learnt.

Each parameter is one scalar per layer (default) or one per channel (`num_parameters=C`,
channels on dim 1, as in nn.PReLU).
"""

import torch
import torch.nn as nn
from torch.autograd.function import once_differentiable


def _broadcast(param: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """View a (1,) or (C,) parameter so it broadcasts over x's channel dim (dim 1)."""
    if param.numel() == 1:
        return param
    return param.view(1, -1, *([1] * (x.dim() - 2)))


def _reduce_to(grad: torch.Tensor, param: torch.Tensor) -> torch.Tensor:
    """Sum a full-size gradient down to a parameter's (1,) or (C,) shape."""
    if param.numel() == 1:
        return grad.sum().reshape(param.shape)
    dims = [d for d in range(grad.dim()) if d != 1]
    return grad.sum(dim=dims)


class SwishFunction(torch.autograd.Function):
    """f = x * s, s = sigmoid(beta x).  df/dx = s + beta x s (1 - s);  df/dbeta = x^2 s (1 - s)."""

    @staticmethod
    def forward(ctx, x, beta):
        ctx.save_for_backward(x, beta)
        return x * torch.sigmoid(_broadcast(beta, x) * x)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_y):
        x, beta = ctx.saved_tensors
        b = _broadcast(beta, x)
        s = torch.sigmoid(b * x)
        ds = s * (1 - s)  # sigmoid'(beta x)
        grad_x = grad_y * (s + b * x * ds) if ctx.needs_input_grad[0] else None
        grad_beta = _reduce_to(grad_y * x * x * ds, beta) if ctx.needs_input_grad[1] else None
        return grad_x, grad_beta


class LeakySwishFunction(torch.autograd.Function):
    """f = x (a + (1 - a) s), s = sigmoid(beta x).

    df/dx    = a + (1 - a) (s + beta x s (1 - s))
    df/da    = x (1 - s)
    df/dbeta = (1 - a) x^2 s (1 - s)
    """

    @staticmethod
    def forward(ctx, x, a, beta):
        ctx.save_for_backward(x, a, beta)
        a_, b_ = _broadcast(a, x), _broadcast(beta, x)
        return x * (a_ + (1 - a_) * torch.sigmoid(b_ * x))

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_y):
        x, a, beta = ctx.saved_tensors
        a_, b_ = _broadcast(a, x), _broadcast(beta, x)
        s = torch.sigmoid(b_ * x)
        ds = s * (1 - s)
        need_x, need_a, need_b = ctx.needs_input_grad
        grad_x = grad_y * (a_ + (1 - a_) * (s + b_ * x * ds)) if need_x else None
        grad_a = _reduce_to(grad_y * x * (1 - s), a) if need_a else None
        grad_beta = _reduce_to(grad_y * (1 - a_) * x * x * ds, beta) if need_b else None
        return grad_x, grad_a, grad_beta


def swish(x: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    return SwishFunction.apply(x, beta)


def leaky_swish(x: torch.Tensor, a: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    return LeakySwishFunction.apply(x, a, beta)


def _param(value: float, n: int, learnable: bool) -> torch.Tensor:
    t = torch.full((n,), float(value))
    return nn.Parameter(t) if learnable else t


class Swish(nn.Module):
    """x * sigmoid(beta * x) with learnable beta (init `beta`)."""

    def __init__(self, beta: float = 1.0, num_parameters: int = 1, learnable: bool = True):
        super().__init__()
        beta_t = _param(beta, num_parameters, learnable)
        if learnable:
            self.beta = beta_t
        else:
            self.register_buffer("beta", beta_t)

    def forward(self, x):
        return SwishFunction.apply(x, self.beta)

    def extra_repr(self):
        return f"num_parameters={self.beta.numel()}"


class LeakySwish(nn.Module):
    """x * (a + (1 - a) * sigmoid(beta * x)) with learnable leak `a` and sharpness `beta`."""

    def __init__(self, a: float = 0.1, beta: float = 1.0, num_parameters: int = 1, learnable: bool = True):
        super().__init__()
        a_t = _param(a, num_parameters, learnable)
        beta_t = _param(beta, num_parameters, learnable)
        if learnable:
            self.a, self.beta = a_t, beta_t
        else:
            self.register_buffer("a", a_t)
            self.register_buffer("beta", beta_t)

    def forward(self, x):
        return LeakySwishFunction.apply(x, self.a, self.beta)

    def extra_repr(self):
        return f"num_parameters={self.a.numel()}"
