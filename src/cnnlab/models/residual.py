"""Study 1 residual CNNs: a conv stem and three BasicBlocks, without and with regularisation.

    stem conv3x3 (32) -> BasicBlock(32) -> BasicBlock(64, /2) -> BasicBlock(128, /2)
      -> global average pool -> [dropout] -> linear

`residual-cnn-reg` is the same net with BatchNorm in every block and dropout before the
classifier; weight decay and augmentation come from the study config, not the model.
"""

from cnnlab.models.registry import register_model
from cnnlab.models.resnet import resnet


@register_model("residual-cnn", study="1.1")
def residual_cnn(in_shape, num_classes, widths=(32, 64, 128)):
    """Conv stem + 3 residual BasicBlocks (32-64-128 channels), no BatchNorm, Kaiming init, GAP head."""
    return resnet(in_shape, num_classes, "basic", widths, blocks_per_stage=1, stem_width=widths[0],
                  batchnorm=False, init="kaiming")


@register_model("residual-cnn-reg", study="1.2")
def residual_cnn_reg(in_shape, num_classes, widths=(32, 64, 128), dropout=0.3):
    """residual-cnn with BatchNorm in every block and dropout 0.3 before the classifier."""
    return resnet(in_shape, num_classes, "basic", widths, blocks_per_stage=1, stem_width=widths[0],
                  batchnorm=True, head_dropout=dropout, init="kaiming")
