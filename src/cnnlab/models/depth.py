"""Study 2.2: depth. Plain conv stacks of N layers, and the same convs with identity shortcuts.

`depth_cnn(depth=N)`: N 3x3 conv layers of constant width (32), split into three stages as
evenly as possible with a 2x2 max-pool after the first two, then global average pooling
and a linear head. Kaiming init and no BatchNorm by default, so the vanishing or exploding
gradients that depth causes stay visible.

With `residual=True` every conv after the first is wrapped in an identity shortcut
(pre-activation form, He et al. 2016b):  x -> x + s * conv(relu(x)).  Without BatchNorm,
each unit adds its branch's variance to the signal; scaling the branches by
s = 1/sqrt(number of units) keeps the forward signal bounded at init (as in Fixup/SkipInit)
while the identity path carries gradients straight through. Same convs, same parameters.
"""

import math

import torch.nn as nn

from cnnlab.models.common import check_min_size, gap_head, kaiming_init
from cnnlab.models.registry import register_model


class ResidualConv(nn.Module):
    """x + scale * conv3x3(relu(bn(x))): one conv with an identity shortcut."""

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


def plain_conv(in_ch: int, width: int, batchnorm: bool) -> list[nn.Module]:
    layers = [nn.Conv2d(in_ch, width, 3, padding=1, bias=not batchnorm)]
    if batchnorm:
        layers.append(nn.BatchNorm2d(width))
    return layers + [nn.ReLU(inplace=True)]


def stage_sizes(depth: int) -> list[int]:
    """Split `depth` conv layers into 3 stages as evenly as possible, earlier stages first."""
    return [depth // 3 + (1 if i < depth % 3 else 0) for i in range(3)]


@register_model("depth", study="2.2")
def depth_cnn(in_shape, num_classes, depth=6, width=32, residual=False, batchnorm=False):
    """N-layer 3x3 conv stack (depth=N, default 6), width 32, optional shortcuts/BatchNorm."""
    if not isinstance(depth, int) or depth < 2:
        raise ValueError(f"depth must be an integer >= 2, got {depth!r}")
    check_min_size(in_shape, 4, f"depth-{depth} (2 max-pools)")
    n_units = depth - 1  # every conv after the first (the stem changes the channel count)
    layers = plain_conv(in_shape[0], width, batchnorm)  # the stem: conv 1 of stage 0
    for stage, size in enumerate(stage_sizes(depth)):
        for _ in range(size - 1 if stage == 0 else size):
            if residual:
                layers.append(ResidualConv(width, 1 / math.sqrt(n_units), batchnorm))
            else:
                layers += plain_conv(width, width, batchnorm)
        if stage < 2:
            layers.append(nn.MaxPool2d(2))
    if residual:  # pre-activation units leave the last output un-normalised
        if batchnorm:
            layers.append(nn.BatchNorm2d(width))
        layers.append(nn.ReLU(inplace=True))
    model = nn.Sequential(*layers, gap_head(width, num_classes))
    kaiming_init(model)
    return model


def _make(depth: int, residual: bool):
    name = f"depth-{depth}" + ("-residual" if residual else "")
    kind = "with identity shortcuts" if residual else "plain"
    description = f"{depth} conv layers (3x3, width 32), {kind}, ReLU, Kaiming init, no BatchNorm"

    def factory(in_shape, num_classes, width=32, batchnorm=False):
        return depth_cnn(in_shape, num_classes, depth=depth, width=width, residual=residual, batchnorm=batchnorm)

    register_model(name, study="2.2", description=description)(factory)


for _depth in (2, 4, 6, 12):
    _make(_depth, residual=False)
_make(12, residual=True)
