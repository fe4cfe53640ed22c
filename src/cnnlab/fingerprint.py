"""Which code made a result: a fingerprint of the source that decides a run's numbers, and
the git commit of the checkout it ran from.

A run's key hashes its config *and* this fingerprint, so editing a model, a layer, the
training loop, the data pipeline or an analysis gives every affected run a new key: the
next `cnnlab run` trains it again instead of serving numbers the old code produced.

The fingerprint hashes each file's syntax tree with docstrings removed, so comments,
docstrings and formatting can change freely; any change to what the code does cannot.
"""

import ast
import functools
import hashlib
import subprocess
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent

# Package-relative paths (folders or files) whose code determines a run's numbers.
RESULT_CODE = (
    "models",
    "train",
    "data",
    "analysis",
    "studies/plan.py",
    "studies/execute.py",
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
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return files


@functools.cache
def code_fingerprint(package_dir: Path = PACKAGE_DIR) -> str:
    """16 hex digits naming the code in RESULT_CODE (computed once per process)."""
    h = hashlib.sha256()
    for path in result_files(package_dir):
        rel = path.relative_to(package_dir).as_posix()
        h.update(f"{rel}:{source_digest(path.read_text(encoding='utf-8'))};".encode())
    return h.hexdigest()[:16]


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
