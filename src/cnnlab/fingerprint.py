"""Which code made a result: a fingerprint of the source that decides a run's numbers, and
the git commit of the checkout it ran from.

A run's key hashes its config *and* this fingerprint, so editing a model, a layer, the
training loop, the data pipeline or an analysis gives every affected run a new key: the
next `cnnlab run` trains it again instead of serving numbers the old code produced. An
analysis plug-in (cnnlab.plugins) counts by what it runs to measure (`measure`,
`train_settings`, `recorder`), for the runs that use it; its report section does not count.

The fingerprint hashes each file's syntax tree with docstrings removed, so comments,
docstrings and formatting can change freely; any change to what the code does cannot.
"""

import ast
import functools
import hashlib
import importlib.util
import inspect
import marshal
import subprocess
import sys
import textwrap
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent

# Package-relative paths (folders or files) whose code determines a run's numbers.
RESULT_CODE = (
    "models",
    "train",
    "data",
    "analyses/*/measure.py",  # what each built-in analysis measures; its report section is not here
    "studies/plan.py",
    "studies/run_one.py",
    "studies/analyse.py",
)


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return tree


def source_digest(text: str) -> str:
    """Hash of what Python code does: comments, docstrings and layout do not count."""
    tree = _strip_docstrings(ast.parse(text))
    return hashlib.sha256(ast.dump(tree, include_attributes=False).encode()).hexdigest()


def result_files(package_dir: Path = PACKAGE_DIR) -> list[Path]:
    files = []
    for entry in RESULT_CODE:
        path = package_dir / entry
        files += sorted(package_dir.glob(entry)) if "*" in entry else sorted(path.rglob("*.py")) if path.is_dir() \
            else [path]
    return files


@functools.cache
def _files_fingerprint(package_dir: Path) -> str:
    h = hashlib.sha256()
    for path in result_files(package_dir):
        rel = path.relative_to(package_dir).as_posix()
        h.update(f"{rel}:{source_digest(path.read_text(encoding='utf-8'))};".encode())
    return h.hexdigest()[:16]


def function_digest(fn) -> str:
    """Hash of what a function does, from its source like `source_digest`; for one whose
    source cannot be read (defined in a console), of its compiled code."""
    try:
        return source_digest(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        code = getattr(fn, "__code__", None)
        return hashlib.sha256(marshal.dumps(code) if code else repr(fn).encode()).hexdigest()


def analysis_digest(name: str) -> str | None:
    """What the analysis plug-in `name` runs to measure, hashed; None when no such plug-in is registered."""
    from cnnlab.plugins import find_analysis

    analysis = find_analysis(name)
    if analysis is None:
        return None
    parts = [function_digest(f) for f in (analysis.measure, analysis.train_settings, analysis.recorder) if f]
    folder_measure = _measure_module(analysis.measure)
    if folder_measure is not None:
        parts.append(source_digest(folder_measure.read_text(encoding="utf-8")))
    return hashlib.sha256(";".join(parts).encode()).hexdigest()[:16]


def _measure_module(fn) -> Path | None:
    """The measure.py beside the __init__.py that defines `fn`: an analysis folder's measurement,
    which its `measure` imports when called (so that loading the plug-in costs no torch)."""
    module = sys.modules.get(getattr(fn, "__module__", None) or "")
    source = Path(getattr(module, "__file__", None) or ".")
    candidate = source.parent / "measure.py"
    return candidate if source.name == "__init__.py" and candidate.is_file() else None


def code_fingerprint(analyses=(), package_dir: Path = PACKAGE_DIR, model_source: str | None = None) -> str | None:
    """16 hex digits naming the code that decides a run's numbers: RESULT_CODE, each of
    `analyses` (a run's analyses; the order does not count) and, for a model of the user's own
    (`model_source`: the reference it loads from), its module and the modules it imports beside
    it. None when one of them cannot be read here, so what made the run cannot be told."""
    files = _files_fingerprint(package_dir)
    if not analyses and not model_source:
        return files
    digests = [analysis_digest(name) for name in sorted(set(analyses))]
    if model_source:
        digests.append(model_digest(model_source))
    if None in digests:
        return None
    return hashlib.sha256(";".join([files, *digests]).encode()).hexdigest()[:16]


COMPILED = "compiled:"  # a model_source for code without a file (a notebook cell): its compiled code's digest


def object_digest(obj) -> str:
    """What a class or function does, from its compiled code (its source cannot be read): every
    function of a class, in name order."""
    functions = [obj] if not inspect.isclass(obj) else [
        f for _, f in sorted(vars(obj).items()) if inspect.isfunction(f) or isinstance(f, (staticmethod, classmethod))]
    parts = [function_digest(getattr(f, "__func__", f)) for f in functions]
    return hashlib.sha256(";".join(parts or [repr(obj)]).encode()).hexdigest()[:16]


def model_digest(model_source: str) -> str | None:
    """The digest of a user's model code (`code_digest`), read without importing it, or the
    compiled code's for a model without a file; None when its file cannot be found."""
    if model_source.startswith(COMPILED):
        return f"model:{model_source[len(COMPILED):]}"
    path = source_path(model_source)
    return f"model:{code_digest(path)}" if path is not None and path.is_file() else None


@functools.cache
def git_provenance(package_dir: Path = PACKAGE_DIR) -> dict | None:
    """{"commit", "dirty"} when cnnlab runs from a git checkout, else None."""
    def git(*args):
        return subprocess.run(["git", "-C", str(package_dir), *args], capture_output=True, text=True, timeout=10)

    try:
        head = git("rev-parse", "HEAD")
        if head.returncode != 0:
            return None
        status = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip())}


# ---- a user's own model code ---------------------------------------------------------------------

def source_files(path: Path) -> list[Path]:
    """The module at `path` and, transitively, the modules it imports from its own folder (or
    package): what its behaviour can depend on besides installed libraries."""
    import ast

    seen, todo = [], [Path(path).resolve()]
    while todo:
        current = todo.pop()
        if current in seen or not current.is_file():
            continue
        seen.append(current)
        try:
            tree = ast.parse(current.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue
        folder = current.parent
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = folder
                for _ in range(max(node.level - 1, 0)):
                    base = base.parent
                if node.level:
                    names = [str(Path(*(node.module or "").split("."))) if node.module else ""]
                    names += [str(Path(node.module or "", a.name)) for a in node.names]
                    for name in names:
                        todo += [base / f"{name}.py", base / name / "__init__.py"] if name else [base / "__init__.py"]
                    continue
                names = [node.module or ""]
            for name in names:
                parts = name.split(".")
                todo += [folder.joinpath(*parts).with_suffix(".py"), folder.joinpath(*parts, "__init__.py")]
    return sorted(seen)


def code_digest(path: Path) -> str:
    """What a model's own code does, as a hash: the syntax trees of its module and the modules it
    imports beside it (comments, docstrings and layout do not count; cnnlab.fingerprint)."""
    h = hashlib.sha256()
    root = Path(path).resolve().parent
    for file in source_files(path):
        h.update(f"{file.relative_to(root) if file.is_relative_to(root) else file.name}:"
                 f"{source_digest(file.read_text(encoding='utf-8'))};".encode())
    return h.hexdigest()[:16]


def source_path(reference: str) -> Path | None:
    """The file a model reference's code is in, found without importing it: an absolute or
    relative `file.py:Name` as written, or an importable module's file."""
    where = reference.rpartition(":")[0]
    if where.endswith(".py") or "/" in where or "\\" in where:
        return Path(where)
    try:
        spec = importlib.util.find_spec(where)
    except (ImportError, ValueError):
        return None
    return Path(spec.origin) if spec is not None and spec.origin and spec.origin.endswith(".py") else None
