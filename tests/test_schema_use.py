"""Every file cnnlab writes is read through its schema (`cnnlab.store.schema`, and `RunDir.load`
for a run directory), in the package and in the tests, so a format changes in one place.

The rule, checked on the source of src/cnnlab/ and tests/ with `ast`: a *read* is a call of
`json.load`, `json.loads`, `<path>.read_text()`, `open(...)` or `<path>.open()`, or of a function
of the same file that reads one of its parameters. A read is flagged when what it is called with
names one of cnnlab's files: a string holding config.json, metrics.jsonl, analysis.json,
study.json or suite.json (a glob like "runs/*/config.json" counts), one of the schema's constants
for them (CONFIG_FILE, ...), or a variable bound, in the same scope or an enclosing one, to
something that names one (by assignment, a `for` or comprehension over it, or `with ... as`).
What a schema reader (RunDir, read_study, read_suite, parse_metrics) or a read returns is
content, not a path: it names no file. Exempt: `parse_metrics(<path>.read_text())` (the schema's
parser of metrics text); the schema package and rundir.py (the readers themselves); the
`_damage_file` helper in tests/conftest.py (the one place that edits these files raw, on
purpose, to damage them); and this file (its planted examples). Code held in a string (a
notebook cell, a `python -c` script) is checked too, and reported at the string's line.
Not counted: `read_bytes()` (comparing bytes is not parsing), writes, and a path that reaches
a read only through another function's parameter in a different file."""

import ast
import textwrap
from pathlib import Path

import pytest

import cnnlab
from cnnlab.store import schema

PACKAGE = Path(cnnlab.__file__).parent
TESTS = Path(__file__).parent

FILE_CONSTANTS = ("CONFIG_FILE", "METRICS_FILE", "ANALYSIS_FILE", "STUDY_FILE", "SUITE_FILE")
FILE_NAMES = tuple(getattr(schema, name) for name in FILE_CONSTANTS)  # config.json, metrics.jsonl, ...
SCHEMA_READERS = ("RunDir", "read_study", "read_suite", "parse_metrics")  # what they return is no path
ALLOWED_FILES = (*sorted((PACKAGE / "store" / "schema").glob("*.py")), PACKAGE / "store" / "rundir.py", Path(__file__))
ALLOWED_FUNCTIONS = {TESTS / "conftest.py": ("_damage_file",)}

# Scopes of names: a comprehension's variables are its own; a nested function sees its outer one's.
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp,
           ast.GeneratorExp)


def _local_nodes(scope):
    """The nodes of one scope, nested scopes excluded."""
    todo = list(ast.iter_child_nodes(scope))
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, _SCOPES):
            todo.extend(ast.iter_child_nodes(node))


def _called(call: ast.Call) -> str | None:
    return call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", None)


def _names_a_file(node, tainted) -> bool:
    """Whether `node` holds a cnnlab file's name, its constant, or a tainted name. What a schema
    reader or a read is called with does not count: what they return is content, not a path
    (and a read is flagged itself)."""
    todo = [node]
    while todo:
        sub = todo.pop()
        if isinstance(sub, ast.Call) and (_called(sub) in SCHEMA_READERS or (_is_read(sub) and sub is not node)):
            continue
        if isinstance(sub, ast.Constant) and isinstance(sub.value, str) and any(f in sub.value for f in FILE_NAMES):
            return True
        if isinstance(sub, ast.Name) and (sub.id in FILE_CONSTANTS or sub.id in tainted):
            return True
        if isinstance(sub, ast.Attribute) and sub.attr in FILE_CONSTANTS:
            return True
        todo.extend(ast.iter_child_nodes(sub))
    return False


def _target_names(target):
    return {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}


def _tainted(nodes, inherited) -> set:
    """Names bound in the scope to something that names one of cnnlab's files (to a fixpoint)."""
    tainted = set(inherited)
    while True:
        before = len(tainted)
        for node in nodes:
            if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.NamedExpr)) and node.value is not None:
                if _names_a_file(node.value, tainted):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    tainted |= set().union(*map(_target_names, targets))
            elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)) and _names_a_file(node.iter, tainted):
                tainted |= _target_names(node.target)
            elif isinstance(node, ast.withitem) and node.optional_vars and _names_a_file(node.context_expr, tainted):
                tainted |= _target_names(node.optional_vars)
        if len(tainted) == before:
            return tainted


def _is_read(call: ast.Call) -> bool:
    func = call.func
    if isinstance(func, ast.Attribute):
        if func.attr in ("load", "loads") and isinstance(func.value, ast.Name) and func.value.id == "json":
            return True
        return func.attr in ("read_text", "open")
    return isinstance(func, ast.Name) and func.id == "open"


def _parameter_readers(tree, skip_functions) -> set[str]:
    """Functions of the file that read one of their parameters: calling one with a cnnlab file is a read."""
    readers = set()
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) and fn.name not in skip_functions:
            nodes = list(ast.walk(fn))
            params = _tainted(nodes, {a.arg for a in fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs})
            if any(isinstance(n, ast.Call) and _is_read(n) and _names_a_file(n, params) for n in nodes):
                readers.add(fn.name)
    return readers


def _scan(scope, inherited, skip_functions, readers, found):
    if getattr(scope, "name", None) in skip_functions:
        return
    nodes = list(_local_nodes(scope))
    tainted = _tainted(nodes, inherited)
    parsed = {id(a) for n in nodes if isinstance(n, ast.Call) and _called(n) == "parse_metrics" for a in n.args}
    for node in nodes:
        if isinstance(node, ast.Call) and id(node) not in parsed:
            if _is_read(node) and _names_a_file(node, tainted):
                found.append(node.lineno)
            elif _called(node) in readers and \
                    any(_names_a_file(a, tainted) for a in node.args + [k.value for k in node.keywords]):
                found.append(node.lineno)
        if isinstance(node, _SCOPES):
            _scan(node, tainted, skip_functions, readers, found)


def hand_parses(source: str, skip_functions=()) -> list[int]:
    """Lines of `source` that read one of cnnlab's files without the schema (the module's rule)."""
    tree = ast.parse(source)
    found = []
    _scan(tree, set(), skip_functions, _parameter_readers(tree, skip_functions), found)
    for node in ast.walk(tree):  # code in strings (notebook cells, `python -c` scripts): the string's line
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and "\n" in node.value and \
                any(word in node.value for word in ("json.load", "read_text", "open(")):
            try:
                if hand_parses(textwrap.dedent(node.value)):
                    found.append(node.lineno)
            except SyntaxError:
                pass
    return sorted(set(found))


def _sources():
    for path in sorted(PACKAGE.rglob("*.py")) + sorted(TESTS.rglob("*.py")):
        if path not in ALLOWED_FILES:
            yield path


@pytest.mark.slow
def test_no_test_or_module_parses_cnnlabs_files_without_the_schema():
    found = [f"{path.relative_to(PACKAGE.parent if path.is_relative_to(PACKAGE) else TESTS.parent)}:{line}"
             for path in _sources()
             for line in hand_parses(path.read_text(encoding="utf-8"), ALLOWED_FUNCTIONS.get(path, ()))]
    assert not found, ("read these through cnnlab.store.schema (RunDir(run).load(), read_study, read_suite, "
                       "parse_metrics), or damage a file with the damage_file fixture:\n" + "\n".join(found))


def test_the_scan_covers_the_package_and_the_tests():
    paths = set(_sources())
    assert PACKAGE / "results" / "__init__.py" in paths and TESTS / "studies" / "test_run_study.py" in paths
    assert TESTS / "conftest.py" in paths  # only its damage helper is exempt, not the whole file


PLANTED = {  # name -> (source, the lines found)
    "a path named inline": ('def f(run):\n    return json.loads((run / "config.json").read_text())\n', [2]),
    "a schema constant": ("def f(run):\n    return [json.loads(x) for x in (run / METRICS_FILE).read_text().split()]\n",
                          [2]),
    "a loop over a glob": ('def f(out):\n    for p in out.glob("runs/*/analysis.json"):\n'
                           '        yield json.loads(p.read_text())\n', [3]),
    "a variable, then open": ("def f(out):\n    path = out / STUDY_FILE\n    with open(path) as fh:\n"
                              "        return json.load(fh)\n", [3, 4]),
    "lines of a file": ('def f(run):\n    return len((run / "metrics.jsonl").read_text().splitlines())\n', [2]),
    "an attribute constant": ("def f(out):\n    return (out / schema.SUITE_FILE).read_text()\n", [2]),
    "a helper that reads its argument": ("def load(path):\n    return json.loads(path.read_text())\n"
                                         "def f(run):\n    return load(run / CONFIG_FILE)\n", [4]),
    "a notebook cell": ('X = 1\nCELL = """\\\n    import json\n'
                        '    recorded = json.load(open(f"{run}/analysis.json"))\n"""\n', [2]),
}
FINE = {
    "stdout of --json": "def f(out):\n    return json.loads(out)\n",
    "through the schema's parser": 'def f(run):\n    return parse_metrics((run / "metrics.jsonl").read_text())\n',
    "not a read": 'def f(run):\n    return (run / "metrics.jsonl").stat().st_mtime_ns\n',
    "another file": 'def f(spec):\n    return json.loads((spec / "kernel.json").read_text())\n',
    "a name tainted in another function": ('def f(out):\n    path = out / STUDY_FILE\n    return path\n'
                                           'def g(path):\n    return json.loads(path.read_text())\n'),
    "what a schema reader returned": ("def f(out):\n    record = read_suite(out / SUITE_FILE)\n"
                                      "    for entry in record.studies:\n"
                                      '        yield (out / entry.dir / "report.md").read_text()\n'),
    "the damage helper": 'def _damage_file(run):\n    return json.loads((run / "config.json").read_text())\n',
}


def test_the_scan_finds_planted_hand_parsing():
    """The checker itself: each planted read of a cnnlab file is found, on its line."""
    for name, (source, lines) in PLANTED.items():
        assert hand_parses(source) == lines, name


def test_the_scan_leaves_other_reads_alone():
    for name, source in FINE.items():
        assert hand_parses(source, skip_functions=("_damage_file",)) == [], name
    assert hand_parses(FINE["the damage helper"]) == [2]  # exempt only where it is allowed
