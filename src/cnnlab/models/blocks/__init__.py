"""Residual blocks written from scratch (study 3.2 and the residual CNNs of study 1)."""

from cnnlab.models.blocks.basic import BasicBlock
from cnnlab.models.blocks.bottleneck import Bottleneck
from cnnlab.models.blocks.shortcut import shortcut
from cnnlab.models.blocks.wide import WideBlock

__all__ = ["BasicBlock", "Bottleneck", "WideBlock", "shortcut"]
