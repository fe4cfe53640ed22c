"""Your own code, named the way a study file or a command names it: `nets.py:TinyNet` (a file,
relative to a base folder, then `:` and a name in it) or `mypkg.nets:TinyNet` (an importable
module). Loading it is one place, so every mistake is one line: a missing file, a missing name,
a syntax error or an exception at import time (with the file and line)."""

import hashlib
import importlib
import importlib.util
import sys
import traceback
from pathlib import Path

from cnnlab.errors import UserError


def is_reference(text) -> bool:
    """Whether `text` names code of one's own (`file.py:Name` or `module:Name`) rather than a registered name."""
    return isinstance(text, str) and ":" in text and not text.startswith(":") and not text.endswith(":")


def split_reference(text: str) -> tuple[str, str]:
    where, _, name = text.rpartition(":")
    if not name.isidentifier():
        raise UserError(f"{text!r}: after ':' give the name of a class or function in it, got {name!r}")
    return where, name


def _is_file(where: str) -> bool:
    """Whether the part before ':' names a file (nets.py, ../nets.py) rather than a module (pkg.nets)."""
    return where.endswith(".py") or "/" in where or "\\" in where


def module_from_file(path: Path):
    """Import a .py file by path, once per process, under a name made from its absolute path (so
    two files called nets.py in two folders stay apart); its folder goes on sys.path so that it
    can import the modules beside it."""
    from cnnlab.fingerprint import code_digest

    path = path.resolve()
    try:
        digest = code_digest(path)  # edited since it was imported (a notebook's second call): import it anew
    except SyntaxError as e:
        raise UserError(f"{path.name}, line {e.lineno}: syntax error: {e.msg}") from None
    name = "cnnlab_user_" + hashlib.sha256(f"{path}:{digest}".encode()).hexdigest()[:12] + "_" + path.stem
    if name in sys.modules:
        return sys.modules[name]
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as e:
        sys.modules.pop(name, None)
        raise UserError(f"{Path(e.filename or path).name}, line {e.lineno}: syntax error: {e.msg}") from None
    except Exception as e:
        sys.modules.pop(name, None)
        raise UserError(f"importing {path}: {_where(e, path)}{type(e).__name__}: {e}") from None
    return module


def _where(error: BaseException, path: Path) -> str:
    """"line N: " of the deepest frame of the user's file in the error's traceback, or ""."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if Path(f.filename).resolve() == path.resolve()]
    return f"line {frames[-1].lineno}: " if frames else ""


def load_object(text: str, base: Path | str = "."):
    """The class, function or object `text` names; `base`: the folder a relative file is in (a
    study file's folder, or the current one for a command)."""
    where, name = split_reference(text)
    if _is_file(where):
        path = Path(where)
        path = path if path.is_absolute() else Path(base) / path
        if not path.is_file():
            raise UserError(f"{text!r}: no file {path}")
        module = module_from_file(path)
    else:
        try:
            module = importlib.import_module(where)
        except ImportError as e:
            raise UserError(f"{text!r}: cannot import module {where!r} ({e})") from None
        except Exception as e:
            raise UserError(f"{text!r}: importing module {where!r} raised {type(e).__name__}: {e}") from None
    if not hasattr(module, name):
        found = sorted(k for k in vars(module) if not k.startswith("_"))
        raise UserError(f"{text!r}: {getattr(module, '__file__', where)} has no {name!r}; it has: "
                        f"{', '.join(found[:20]) or 'nothing public'}")
    return getattr(module, name)


# ---- your own models -------------------------------------------------------------------------------

def model_factory(obj, reference: str):
    """A factory `(in_shape, num_classes, **kwargs) -> nn.Module` for a class or a function: a class
    is built as `Cls(in_shape=..., num_classes=..., **kwargs)` when it takes those arguments, else
    `Cls(**kwargs)`; a function is called as the built-in factories are."""
    import inspect

    import torch.nn as nn

    if isinstance(obj, nn.Module):
        raise UserError(f"{reference!r} is a model instance; give its class, or a function that builds it")
    if inspect.isclass(obj):
        if not issubclass(obj, nn.Module):
            raise UserError(f"{reference!r} is a class, but not an nn.Module")
        try:
            takes = inspect.signature(obj).parameters
        except (TypeError, ValueError):
            takes = {}
        shaped = "in_shape" in takes and "num_classes" in takes

        def build(in_shape, num_classes, **kwargs):
            return obj(in_shape=in_shape, num_classes=num_classes, **kwargs) if shaped else obj(**kwargs)
        build.__signature__ = _factory_signature(obj, shaped)
        return build
    if callable(obj):
        return obj
    raise UserError(f"{reference!r} is a {type(obj).__name__}, not a model class or a function that builds one")


def _factory_signature(cls, shaped: bool):
    """The factory's signature: (in_shape, num_classes, <the class's other arguments>), so a study
    file's kwargs are checked against the class before anything trains."""
    import inspect

    try:
        own = [p for p in inspect.signature(cls).parameters.values() if p.name not in ("in_shape", "num_classes")]
    except (TypeError, ValueError):
        own = [inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD)]
    first = [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in ("in_shape", "num_classes")]
    return inspect.Signature(first + [p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
                                      if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD else p for p in own])


def register_reference(name: str, source: str, base: Path | str = ".") -> str:
    """Register the model `source` names (`file.py:Name` relative to `base`, or `module:Name`)
    under `name`, replacing an earlier registration of that name from other code; return the
    absolute reference a worker process loads it from."""
    from cnnlab.models.registry import register_user_model

    where, attr = split_reference(source)
    absolute = source
    if _is_file(where):
        path = Path(where) if Path(where).is_absolute() else Path(base) / where
        absolute = f"{path.resolve()}:{attr}"
    obj = load_object(absolute, base)
    register_user_model(name, model_factory(obj, source), absolute)
    return absolute


def ensure_model(name: str, source: str | None):
    """Before building `name` in a fresh process (a worker, a Ray task, cnnlab.load_model): load
    the user's code it came from, where this process has not registered it yet."""
    from cnnlab.fingerprint import COMPILED
    from cnnlab.models.registry import list_models, registered_source

    if not source:
        return
    if source.startswith(COMPILED):
        if registered_source(name) != source:
            raise UserError(f"model {name!r} was defined in a notebook or console (it has no file), so another "
                            "process cannot load it: run with --workers 1 and the local executor, or move it to a "
                            ".py file")
        return
    if name not in list_models() or (registered_source(name) is not None and registered_source(name) != source):
        register_reference(name, source)


def register_object(obj) -> tuple[str, str]:
    """A model class or factory handed over from Python (`cnnlab.train_model(TinyNet)`, a study
    dict's models): registered under `module:Name`, keyed by the source of the file it is defined
    in, or, defined in a notebook cell or a console, by its compiled code (which no other process
    can load: such a model trains with --workers 1). Returns (name, source)."""
    import inspect

    from cnnlab.fingerprint import COMPILED, object_digest
    from cnnlab.models.registry import register_user_model

    name = getattr(obj, "__name__", None)
    if not name or not callable(obj):
        raise UserError(f"{obj!r} is not a model class or a function that builds one")
    try:
        file = inspect.getsourcefile(obj)
    except (TypeError, OSError):  # a class defined in a console or notebook cell has no file
        file = None
    module = sys.modules.get(getattr(obj, "__module__", "") or "")
    if file and Path(file).is_file() and getattr(module, name, None) is obj and not file.startswith("<"):
        source = f"{Path(file).resolve()}:{name}"
        register_user_model(name, model_factory(obj, source), source)
        return name, source
    source = COMPILED + object_digest(obj)
    register_user_model(name, model_factory(obj, name), source)
    return name, source
