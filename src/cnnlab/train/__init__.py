"""Training: `train(model, data, TrainConfig(...))` returns a `History`."""

from cnnlab.train.callbacks import Callback
from cnnlab.train.config import TrainConfig
from cnnlab.train.device import resolve_device
from cnnlab.train.inputs import Inputs
from cnnlab.train.optim import make_optimizer, make_scheduler, parameter_groups
from cnnlab.train.precision import Precision, resolve_precision
from cnnlab.train.passes import Evaluation, evaluate, train_step
from cnnlab.train.trainer import History, train

__all__ = ["Callback", "Evaluation", "History", "Inputs", "Precision", "TrainConfig", "evaluate", "make_optimizer", "make_scheduler", "parameter_groups", "resolve_device",
           "resolve_precision", "train", "train_step"]
