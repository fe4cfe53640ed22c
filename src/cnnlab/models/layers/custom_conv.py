"""CustomConv2d: a convolution with centred, normalised filters and a learnable gain.

Extra logic (both on by default, each switchable):

* `standardize`: every output filter is centred and scaled to unit L2 norm before use,
  w_hat = (w - mean(w)) / sqrt(sum((w - mean(w))^2) + eps), so the weight tensor only
  sets the *direction* of a filter (weight standardisation, Qiao et al. 2019, with the
  unit-norm scaling of weight normalisation, Salimans & Kingma 2016).
* `gate`: a learnable per-output-channel gain g sets its *magnitude*:
  y = g * conv(x, w_hat) + b. It starts at the norm of the initial centred filter, so
  at initialisation the layer computes what nn.Conv2d with centred weights computes.

With both off the layer is exactly F.conv2d. Forward and backward are hand-written in
`CustomConv2dFunction`; the backward uses torch.nn.grad.conv2d_input/conv2d_weight, the
standard adjoints of a convolution, plus the closed-form gradient of the normalisation.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd.function import once_differentiable
from torch.nn.grad import conv2d_input, conv2d_weight


def _channel_view(v: torch.Tensor) -> torch.Tensor:
    """(C,) -> (1, C, 1, 1) for broadcasting over an (N, C, H, W) map."""
    return v.view(1, -1, 1, 1)


def standardize_weight(weight: torch.Tensor, eps: float):
    """Centre each output filter and scale it to unit norm. Returns (w_hat, 1/norm)."""
    centred = weight - weight.mean(dim=(1, 2, 3), keepdim=True)
    inv_norm = torch.rsqrt(centred.pow(2).sum(dim=(1, 2, 3), keepdim=True) + eps)
    return centred * inv_norm, inv_norm


class CustomConv2dFunction(torch.autograd.Function):
    """y = gate * conv2d(x, standardize(weight)) + bias, with a hand-written backward."""

    @staticmethod
    def forward(ctx, x, weight, bias, gate, stride, padding, dilation, groups, standardize, eps):
        if standardize:
            w_hat, inv_norm = standardize_weight(weight, eps)
        else:
            w_hat, inv_norm = weight, None
        z = F.conv2d(x, w_hat, None, stride, padding, dilation, groups)
        y = z * _channel_view(gate) if gate is not None else z
        if bias is not None:
            y = y + _channel_view(bias)
        # z is only needed for the gate's gradient; don't keep it otherwise.
        ctx.save_for_backward(x, w_hat, inv_norm, gate, z if gate is not None else None)
        ctx.conv_args = (stride, padding, dilation, groups)
        ctx.conv_dtype = z.dtype  # lower than x's under autocast; the backward convs match it
        ctx.has_bias = bias is not None
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_y):
        x, w_hat, inv_norm, gate, z = ctx.saved_tensors
        stride, padding, dilation, groups = ctx.conv_args
        need_x, need_w, need_b, need_g = ctx.needs_input_grad[:4]
        grad_x = grad_w = grad_b = grad_gate = None

        if ctx.has_bias and need_b:
            grad_b = grad_y.sum(dim=(0, 2, 3))
        grad_z = grad_y
        if gate is not None:
            if need_g:
                grad_gate = (grad_y * z).sum(dim=(0, 2, 3), dtype=gate.dtype)
            grad_z = grad_y * _channel_view(gate)

        # Run the two adjoint convolutions in the forward conv's precision (as autocast does).
        cd = ctx.conv_dtype
        grad_z = grad_z.to(cd)
        if need_x:
            grad_x = conv2d_input(x.shape, w_hat.to(cd), grad_z, stride, padding, dilation, groups).to(x.dtype)
        if need_w:
            grad_w = conv2d_weight(x.to(cd), w_hat.shape, grad_z, stride, padding, dilation, groups)
            grad_w = grad_w.to(w_hat.dtype)
            if inv_norm is not None:
                # Gradient through w_hat = centred / norm (per output filter):
                # dw = (g - mean(g) - w_hat * sum(g * w_hat)) / norm
                dims = (1, 2, 3)
                grad_w = (
                    grad_w
                    - grad_w.mean(dim=dims, keepdim=True)
                    - w_hat * (grad_w * w_hat).sum(dim=dims, keepdim=True)
                ) * inv_norm
        return grad_x, grad_w, grad_b, grad_gate, None, None, None, None, None, None


class CustomConv2d(nn.Conv2d):
    """Drop-in nn.Conv2d (zero padding) with filter standardisation and a learnable gain.

    `padding` defaults to "same"-style k // 2. `standardize=False, gate=False` gives
    exactly nn.Conv2d's result (still through the hand-written backward).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int | None = None,
        dilation: int = 1,
        groups: int = 1,
        bias: bool = True,
        standardize: bool = True,
        gate: bool = True,
        eps: float = 1e-5,
    ):
        if padding is None:
            padding = dilation * (kernel_size - 1) // 2
        if isinstance(padding, str):
            raise ValueError(f"CustomConv2d takes integer padding (default k // 2), got {padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias)
        self.standardize = standardize
        self.eps = eps
        self.gate = nn.Parameter(torch.ones(out_channels)) if gate else None
        self._init_gate()

    def _init_gate(self):
        # Start the gain at the centred filter's norm: the same output scale as nn.Conv2d.
        if self.gate is not None:
            with torch.no_grad():
                centred = self.weight - self.weight.mean(dim=(1, 2, 3), keepdim=True)
                norm = centred.pow(2).sum(dim=(1, 2, 3)).add(self.eps).sqrt()
                self.gate.copy_(norm if self.standardize else torch.ones_like(norm))

    def reset_parameters(self):
        super().reset_parameters()
        if getattr(self, "gate", None) is not None:  # nn.Conv2d.__init__ calls us before gate exists
            self._init_gate()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return CustomConv2dFunction.apply(
            x, self.weight, self.bias, self.gate,
            self.stride, self.padding, self.dilation, self.groups, self.standardize, self.eps,
        )

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, standardize={self.standardize}, gate={self.gate is not None}"
