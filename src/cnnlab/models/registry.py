"""Models register themselves by name (as in timm); `create_model` builds any of them.

A factory has the signature `factory(in_shape, num_classes, **kwargs) -> nn.Module`,
where `in_shape` is (C, H, W).
"""

import warnings
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn as nn

from cnnlab.errors import first_line

# Far above any model of a course study, low enough that a typo in a width or an input
# shape fails here rather than as an allocation of terabytes.
MAX_PARAMS = 10**9
MAX_ACTIVATIONS = 2**30  # numbers in one image's layer outputs (4 GiB as float32)


@dataclass(frozen=True)
class ModelEntry:
    name: str
    factory: Callable[..., nn.Module]
    study: str  # which built-in study the model serves, e.g. "1.1"; "" for general use
    description: str
    source: str | None = None  # a user's model: the reference it was loaded from (cnnlab.models.user_code)


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


def register_user_model(name: str, factory, source: str):
    """A model from the user's own code (cnnlab.models.user_code), under the name a study gives
    it; loading other code under the same name replaces it (the user edited or moved it)."""
    current = _REGISTRY.get(name)
    if current is not None and current.source is None:
        raise ValueError(f"{name!r} is a built-in model's name; give your model another")
    _REGISTRY[name] = ModelEntry(name, factory, "", f"your own model ({source})", source)


def registered_source(name: str) -> str | None:
    entry = _REGISTRY.get(name)
    return entry.source if entry is not None else None


def unregister_model(name: str):
    """Remove a model registered from outside the package (a test's); unknown names are ignored."""
    _REGISTRY.pop(name, None)


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


def check_model(name: str, in_shape, num_classes: int, **kwargs):
    """Build the model on the meta device (shapes only, no memory) and pass one dummy image
    through it; raise ValueError with a one-line reason if that fails, a layer is empty,
    the output is not one logit per class, or weights or activations are absurdly large.
    Built-in defaults are tested, so what fails here is the caller's arguments or shape."""
    shape = "x".join(map(str, in_shape))
    try:
        with warnings.catch_warnings(), torch.device("meta"):
            warnings.simplefilter("ignore")  # e.g. "initializing zero-element tensors is a no-op"
            model = create_model(name, in_shape, num_classes, **kwargs)
    except Exception as e:
        raise ValueError(_reason(e)) from None
    empty = [(n, tuple(p.shape)) for n, p in model.named_parameters() if p.numel() == 0]
    if empty:
        raise ValueError(f"layer {empty[0][0]} has shape {empty[0][1]}: no units (a width or size of 0?)")
    params = sum(p.numel() for p in model.parameters())
    if params > MAX_PARAMS:
        raise ValueError(f"{params:.3g} parameters for {shape} inputs; at most {MAX_PARAMS:.3g}")
    outputs = []
    hooks = [m.register_forward_hook(lambda m, i, out: outputs.append(out.numel() if torch.is_tensor(out) else 0))
             for m in model.modules() if not list(m.children())]
    try:
        logits = model(torch.empty(1, *in_shape, device="meta"))
    except Exception as e:
        raise ValueError(f"a {shape} image does not pass through it: {_reason(e)}") from None
    finally:
        for hook in hooks:
            hook.remove()
    if not torch.is_tensor(logits) or tuple(logits.shape) != (1, num_classes):
        got = tuple(logits.shape) if torch.is_tensor(logits) else type(logits).__name__
        raise ValueError(f"one {shape} image gives output {got}, expected (1, {num_classes})")
    if sum(outputs) > MAX_ACTIVATIONS:
        raise ValueError(f"one {shape} image makes {sum(outputs):.3g} activations; at most {MAX_ACTIVATIONS:.3g}")


def _reason(e: Exception) -> str:
    """A model's own ValueError says what is wrong; anything else also needs its type. Raised in
    the user's own code, it says where: the file and line of the deepest frame outside torch and
    cnnlab."""
    import traceback
    from pathlib import Path

    own = [f for f in traceback.extract_tb(e.__traceback__)
           if not any(part in Path(f.filename).parts for part in ("torch", "cnnlab", "site-packages"))
           and not f.filename.startswith("<")]
    where = f"{Path(own[-1].filename).name}, line {own[-1].lineno}: " if own else ""
    return where + (first_line(e) if isinstance(e, ValueError) else f"{type(e).__name__}: {first_line(e)}")
