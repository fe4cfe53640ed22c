"""Models register themselves by name (as in timm); `create_model` builds any of them.

A factory has the signature `factory(in_shape, num_classes, **kwargs) -> nn.Module`,
where `in_shape` is (C, H, W).
"""

from dataclasses import dataclass
from typing import Callable

import torch.nn as nn


@dataclass(frozen=True)
class ModelEntry:
    name: str
    factory: Callable[..., nn.Module]
    study: str  # which built-in study the model serves, e.g. "1.1"; "" for general use
    description: str


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(name: str, study: str = "", description: str = ""):
    """Decorator: `@register_model("simple-cnn", study="1.1")` above a factory."""

    def wrap(factory):
        if name in _REGISTRY:
            raise RuntimeError(f"model {name!r} registered twice")
        doc = description or (factory.__doc__ or "").strip().splitlines()[0:1]
        doc = doc if isinstance(doc, str) else (doc[0] if doc else "")
        _REGISTRY[name] = ModelEntry(name, factory, study, doc)
        return factory

    return wrap


def list_models() -> list[str]:
    return sorted(_REGISTRY)


def model_entry(name: str) -> ModelEntry:
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; valid models: {', '.join(list_models())}")
    return _REGISTRY[name]


def create_model(name: str, in_shape=(1, 28, 28), num_classes: int = 10, **kwargs) -> nn.Module:
    """Build a registered model for inputs of shape `in_shape` = (C, H, W)."""
    entry = model_entry(name)
    in_shape = tuple(int(s) for s in in_shape)
    if len(in_shape) != 3 or min(in_shape) < 1:
        raise ValueError(f"in_shape must be (C, H, W) with positive sizes, got {in_shape}")
    if int(num_classes) < 2:
        raise ValueError(f"num_classes must be >= 2, got {num_classes}")
    return entry.factory(in_shape, int(num_classes), **kwargs)
