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


def module_from_file(path: Path):
    """Import a .py file by path, once per process, under a name made from its absolute path (so
    two files called nets.py in two folders stay apart); its folder goes on sys.path so that it
    can import the modules beside it."""
    path = path.resolve()
    name = "cnnlab_user_" + hashlib.sha256(str(path).encode()).hexdigest()[:12] + "_" + path.stem
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
        raise UserError(f"{e.filename}, line {e.lineno}: syntax error: {e.msg}") from None
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
    if where.endswith(".py") or "/" in where or "\\" in where:
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
