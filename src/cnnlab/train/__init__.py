"""Training: `train(model, data, TrainConfig(...))` returns a `History`."""

from cnnlab.train.callbacks import Callback
from cnnlab.train.config import TrainConfig, config_hash
from cnnlab.train.device import resolve_device, resolve_precision
from cnnlab.train.trainer import History, evaluate, seed_everything, train

__all__ = ["Callback", "TrainConfig", "config_hash", "History", "evaluate", "seed_everything", "train",
           "resolve_device", "resolve_precision"]
