"""A layer of my own with a hand-written backward pass: the softsign activation, x / (1 + |x|).

Check it before training with it:  cnnlab check-layer layers.py:SoftsignFunction --shape 2,8,14,14
"""

import torch
import torch.nn as nn


class SoftsignFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x / (1 + x.abs())

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output / (1 + x.abs()) ** 2  # d/dx x/(1+|x|) = 1/(1+|x|)^2


class Softsign(nn.Module):
    def forward(self, x):
        return SoftsignFunction.apply(x)
