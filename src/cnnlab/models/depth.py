"""Study 2.2: depth. Plain conv stacks of N layers, and the same convs with identity shortcuts.

`depth_cnn(depth=N)`: N 3x3 conv layers of constant width (32), split into three stages as
evenly as possible with a 2x2 max-pool after the first two, then global average pooling
and a linear head. Kaiming init and no BatchNorm by default, so the vanishing or exploding
gradients that depth causes stay visible. With `residual=True` every conv after the first
is wrapped in an identity shortcut (`cnnlab.models.convnet.ResidualConv`): same convs,
same parameters.
"""

from cnnlab.models.common import check_min_size
from cnnlab.models.convnet import conv_net
from cnnlab.models.registry import register_model


def stage_sizes(depth: int) -> list[int]:
    """Split `depth` conv layers into 3 stages as evenly as possible, earlier stages first."""
    return [depth // 3 + (1 if i < depth % 3 else 0) for i in range(3)]


@register_model("depth", study="2.2")
def depth_cnn(in_shape, num_classes, depth=6, width=32, residual=False, batchnorm=False):
    """N-layer 3x3 conv stack (depth=N, default 6), width 32, optional shortcuts/BatchNorm."""
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < 2:
        raise ValueError(f"depth must be an integer >= 2, got {depth!r}")
    check_min_size(in_shape, 4, f"depth-{depth} (2 max-pools)")
    stages = [[(width, 3)] * size for size in stage_sizes(depth)]
    return conv_net(in_shape, num_classes, stages, batchnorm=batchnorm, pool_last=False, residual=residual,
                    init="kaiming")


@register_model("depth-2", study="2.2")
def depth_2(in_shape, num_classes, width=32, batchnorm=False):
    """2 conv layers (3x3, width 32), plain, ReLU, Kaiming init, no BatchNorm."""
    return depth_cnn(in_shape, num_classes, depth=2, width=width, batchnorm=batchnorm)


@register_model("depth-4", study="2.2")
def depth_4(in_shape, num_classes, width=32, batchnorm=False):
    """4 conv layers (3x3, width 32), plain, ReLU, Kaiming init, no BatchNorm."""
    return depth_cnn(in_shape, num_classes, depth=4, width=width, batchnorm=batchnorm)


@register_model("depth-6", study="2.2")
def depth_6(in_shape, num_classes, width=32, batchnorm=False):
    """6 conv layers (3x3, width 32), plain, ReLU, Kaiming init, no BatchNorm."""
    return depth_cnn(in_shape, num_classes, depth=6, width=width, batchnorm=batchnorm)


@register_model("depth-12", study="2.2")
def depth_12(in_shape, num_classes, width=32, batchnorm=False):
    """12 conv layers (3x3, width 32), plain, ReLU, Kaiming init, no BatchNorm."""
    return depth_cnn(in_shape, num_classes, depth=12, width=width, batchnorm=batchnorm)


@register_model("depth-12-residual", study="2.2")
def depth_12_residual(in_shape, num_classes, width=32, batchnorm=False):
    """12 conv layers (3x3, width 32) with identity shortcuts, ReLU, Kaiming init, no BatchNorm."""
    return depth_cnn(in_shape, num_classes, depth=12, width=width, residual=True, batchnorm=batchnorm)
