"""One builder for the plain conv nets of studies 2.1 (kernel size), 2.2 (depth) and 3.1
(custom layers):

    for each stage:  [conv -> (BatchNorm) -> activation] per (width, kernel) of the stage
                     -> (attention) -> pooling (2x2; after the last stage only if pool_last)
    then global average pooling -> linear

Conv, activation, pooling and attention are picked by name from the tables in
`cnnlab.models.layers.choices`. With `residual=True`, every conv after the first becomes
a pre-activation identity-shortcut unit (`ResidualConv`), as in the depth study.
"""

import math

import torch.nn as nn

from cnnlab.models.common import Net, gap_head, kaiming_init
from cnnlab.models.layers.choices import ACTIVATIONS, ATTENTIONS, CONVS, POOLS, choose


class ResidualConv(nn.Module):
    """x + scale * conv3x3(relu(bn(x))): one conv with an identity shortcut (He et al. 2016b).

    Without BatchNorm each unit adds its branch's variance to the signal; scaling the branch
    by 1/sqrt(number of units) keeps the forward signal bounded at init (as in Fixup and
    SkipInit), while the identity path carries gradients straight through.
    """

    def __init__(self, width: int, scale: float, batchnorm: bool = False):
        super().__init__()
        self.norm = nn.BatchNorm2d(width) if batchnorm else nn.Identity()
        self.relu = nn.ReLU()  # not in-place: without BN its input is x, which the shortcut needs
        self.conv = nn.Conv2d(width, width, 3, padding=1, bias=not batchnorm)
        self.scale = scale

    def forward(self, x):
        return x + self.scale * self.conv(self.relu(self.norm(x)))

    def extra_repr(self):
        return f"scale={self.scale:.3f}"


def conv_net(in_shape, num_classes, stages, conv: str = "standard", act: str = "relu", pool: str = "max",
             attention: str = "none", batchnorm: bool = True, pool_last: bool = True, residual: bool = False,
             init: str = "default") -> Net:
    """`stages`: per stage, a list of (output channels, kernel size), one per conv layer.

    Convs have a bias only without BatchNorm (BN's shift makes it redundant). `init`:
    "default" (PyTorch's) or "kaiming" (He-normal convs, zero biases).
    """
    make_conv = choose(CONVS, conv, "conv")
    make_act = choose(ACTIVATIONS, act, "activation")
    make_pool = choose(POOLS, pool, "pooling")
    make_attention = choose(ATTENTIONS, attention, "attention")
    if residual and (act != "relu" or conv != "standard"):
        raise ValueError("residual conv stacks use standard convs and ReLU")
    if init not in ("default", "kaiming"):
        raise ValueError(f"unknown init {init!r}; valid: default, kaiming")
    n_units = sum(len(stage) for stage in stages) - 1  # residual units: every conv after the first
    layers, prev = [], in_shape[0]
    for i, stage in enumerate(stages):
        for width, kernel in stage:
            if residual and layers:
                if width != prev or kernel != 3:
                    raise ValueError("residual units keep the width and use 3x3 kernels")
                layers.append(ResidualConv(width, 1 / math.sqrt(n_units), batchnorm))
                continue
            layers.append(make_conv(prev, width, kernel, not batchnorm))
            if batchnorm:
                layers.append(nn.BatchNorm2d(width))
            layers.append(make_act())
            prev = width
        if make_attention is not None and stage:
            layers.append(make_attention(prev))
        if pool_last or i < len(stages) - 1:
            layers.append(make_pool())
    if residual:  # pre-activation units leave the last output un-normalised
        if batchnorm:
            layers.append(nn.BatchNorm2d(prev))
        layers.append(nn.ReLU(inplace=True))
    model = Net(nn.Sequential(*layers), gap_head(prev, num_classes))
    if init == "kaiming":
        kaiming_init(model)
    return model
