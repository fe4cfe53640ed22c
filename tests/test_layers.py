"""The package's layers (README, "Architecture"): a module imports only from its own layer and
the ones below it. Every `import` and `from ... import` counts, inside functions too."""

import ast
from pathlib import Path

import pytest

import cnnlab

PACKAGE = Path(cnnlab.__file__).parent

# Lowest first. A top-level module or package not listed here fails the test, so a new
# one has to be given its place.
LAYERS = (
    ("errors", "interrupts", "io", "units", "choices", "settings", "numeric", "version", "plugins", "fingerprint",
     "stats", "document"),  # no torch; stats: numpy and scipy only; document: a report's blocks, to Markdown/HTML
    ("data", "models"),  # images as tensors; networks
    ("store",),  # the schema of every file, run directories, the index
    ("results",),  # a study's results as read from disk, metrics by name, results.csv
    ("train",),  # the training loop
    ("report",),  # results -> verdicts, answers, sections, plots
    ("analyses",),  # the built-in analyses, one folder each: measure.py (the run key), the report section
    ("studies",),  # study files, planning, executing and recording runs
    ("api", "console", "cli", "__init__", "__main__"),  # what users call
)
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path):
    """(line, imported module) for every import of a cnnlab module in the file."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "cnnlab":  # from cnnlab import x: x is the module imported
                yield from ((node.lineno, f"cnnlab.{alias.name}") for alias in node.names)
            elif node.module.startswith("cnnlab."):
                yield node.lineno, node.module
        elif isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names if alias.name.startswith("cnnlab."))


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        yield ".".join(rel.parts).removesuffix(".__init__"), path


def test_every_module_has_a_layer():
    unplaced = sorted({_top(module) for module, _ in _modules()} - set(LAYER))
    assert not unplaced, f"give these a layer in LAYERS (and in the README): {unplaced}"


@pytest.mark.slow
def test_no_import_runs_up_a_layer():
    upward = []
    for module, path in _modules():
        for line, target in _imports(path):
            if target in ("cnnlab.__version__",):
                continue
            if LAYER[_top(target)] > LAYER[_top(module)]:
                upward.append(f"{path.relative_to(PACKAGE)}:{line} {module} imports {target}")
    assert not upward, "imports from a higher layer:\n" + "\n".join(upward)


def test_the_walk_sees_imports_inside_functions(tmp_path):
    """The checker itself: an upward import hidden in a function body is found."""
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from cnnlab.cli import main\n    return main\n")
    assert list(_imports(source)) == [(2, "cnnlab.cli")]


def test_the_statistics_are_a_library_on_numbers():
    """cnnlab.stats imports numpy, scipy, the standard library and itself only: no runs, studies,
    reports or torch, so a statistician can read and test it alone."""
    import sys

    allowed = {"numpy", "scipy", "cnnlab"} | set(sys.stdlib_module_names)
    for path in sorted((PACKAGE / "stats").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            for name in names:
                assert name.split(".")[0] in allowed, f"stats/{path.name} imports {name}"
                if name.startswith("cnnlab"):
                    assert name.startswith("cnnlab.stats"), f"stats/{path.name} imports {name}"


# Numbers equal to a level by chance, each with what it is.
NOT_LEVELS = {("studies/tune_spec.py", 1000)}  # TUNE_SEED_BASE: tuning seeds 1000, 1001, ..., not a seed limit
STATISTICS_LITERALS = {0.05: "ALPHA", 0.95: "1 - ALPHA", 0.975: "1 - ALPHA / 2", 0.025: "ALPHA / 2",
                       1.96: "the normal quantile at 1 - ALPHA / 2", 0.8: "POWER", 1000: "MAX_SEEDS"}


def test_the_levels_the_verdicts_use_are_declared_once():
    """No literal alpha, confidence, power or seed limit in the code that decides or words a
    verdict: they are cnnlab.stats.constants' (and the default margin cnnlab.choices'), so a
    change there changes every verdict and sentence alike."""
    found = []
    for folder in ("report", "stats", "studies", "cli"):
        for path in sorted((PACKAGE / folder).rglob("*.py")):
            if path.name == "constants.py":
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                          if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and node.body
                          and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
            for node in ast.walk(tree):
                if (isinstance(node, ast.Constant) and id(node) not in docstrings and type(node.value) in (int, float)
                        and node.value in STATISTICS_LITERALS
                        and (path.relative_to(PACKAGE).as_posix(), node.value) not in NOT_LEVELS):
                    found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.value!r}: use "
                                 f"{STATISTICS_LITERALS[node.value]}")
                if isinstance(node, ast.arg) or not isinstance(node, ast.FunctionDef):
                    continue
                defaults = dict(zip([a.arg for a in node.args.args][::-1], node.args.defaults[::-1]))
                defaults.update((a.arg, d) for a, d in zip(node.args.kwonlyargs, node.args.kw_defaults) if d)
                for name, default in defaults.items():
                    if "margin" in name and isinstance(default, ast.Constant) and isinstance(default.value, float):
                        found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {name}={default.value!r}: use "
                                     "choices.DEFAULT_MARGIN_POINTS")
    assert not found, "\n".join(found)
