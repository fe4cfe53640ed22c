"""Training: `train(model, data, TrainConfig(...))` returns a `History`.

The names below are imported on first use (PEP 562): `cnnlab.train.config`, which checks a
study's settings, has no torch in it, and listings and reports import it."""

import importlib

_WHERE = {
    "Callback": "callbacks", "TrainConfig": "config", "resolve_device": "device", "Inputs": "inputs",
    "make_optimizer": "optim", "make_scheduler": "optim", "parameter_groups": "optim",
    "Precision": "precision", "resolve_precision": "precision",
    "Evaluation": "passes", "evaluate": "passes", "train_step": "passes",
    "History": "trainer", "train": "trainer",
}
__all__ = sorted(_WHERE)


def __getattr__(name):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
