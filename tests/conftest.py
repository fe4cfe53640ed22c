import json
import os
from pathlib import Path

import pytest

# `make test` runs two pytest workers (pytest-xdist) on this 2-core machine: one thread each, so that
# torch's thread pools do not fight over the cores (set before anything imports torch).
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["OMP_NUM_THREADS"] = "1"


def _damage_file(path, change, raw: bool = False):
    """Edit a file cnnlab wrote, in its raw form, on purpose to make it invalid: tests of damaged
    records need bytes that `cnnlab.store.schema` rejects, which its writers refuse to produce.
    This is the one place a test parses cnnlab's files without the schema (tests/test_schema_use.py).

    `change` gets the content and returns the damaged content: a .json file's object, a .jsonl
    file's list of rows (written back one JSON line each, NaN allowed), or with `raw` the bytes."""
    path = Path(path)
    if raw:
        path.write_bytes(change(path.read_bytes()))
    elif path.suffix == ".jsonl":
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        path.write_text("".join(json.dumps(row) + "\n" for row in change(rows)), encoding="utf-8")
    else:
        path.write_text(json.dumps(change(json.loads(path.read_text(encoding="utf-8")))), encoding="utf-8")


# A test that uses one of these fixtures waits for a whole study to train (or render) the first
# time: it is `slow`, wherever it lives (markers: pyproject.toml; `make test-fast` leaves them out).
SLOW_FIXTURES = {"tiny_study", "reference", "finished", "full_study"}


# Rough seconds a test of each kind takes here, to start the longest test files first; a test
# far above its kind's figure says so: @pytest.mark.process(seconds=50).
HEAVY = {"ray": 30, "notebook": 40, "process": 8, "browser": 8, "slow": 2}


def pytest_addoption(parser):
    parser.addoption("--long", action="store_true",
                     help="also run the long simulations (@pytest.mark.long): minutes each, millions of studies")


def pytest_collection_modifyitems(config, items):
    skip_long = pytest.mark.skip(reason="a long simulation: run with --long")
    for item in items:
        if SLOW_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.slow)
        if item.get_closest_marker("long") and not config.getoption("--long"):
            item.add_marker(skip_long)
    # The longest files first (order within a file kept): with `--dist loadfile`
    # the long files start at once and the short ones fill the gaps, instead of one worker
    # finishing a long file alone at the end.
    seconds = {}
    for item in items:
        marker = next((item.get_closest_marker(m) for m in HEAVY if item.get_closest_marker(m)), None)
        guess = marker.kwargs.get("seconds", HEAVY[marker.name]) if marker else 0  # slow(seconds=N) says more
        seconds[item.path] = seconds.get(item.path, 0) + guess
    items.sort(key=lambda item: -seconds[item.path])


@pytest.fixture
def damage_file():
    """`damage_file(path, change, raw=False)`: see `_damage_file`."""
    return _damage_file


@pytest.fixture(autouse=True)
def _models_registered_by_a_test_leave_with_it():
    """A test that registers its own model (a study file's file.py:Name, cnnlab.train_model(Class))
    leaves the registry as it found it, so the next test's `cnnlab models` lists the built-ins."""
    from cnnlab.models import registry

    before = dict(registry._REGISTRY)
    yield
    registry._REGISTRY.clear()
    registry._REGISTRY.update(before)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Never read or write the user's ~/.cache from tests."""
    monkeypatch.setenv("CNNLAB_CACHE", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path_factory.mktemp("data")))


TINY_STUDY = """\
name = "tiny-api"
title = "Tiny study through the notebook API"
dataset = "synthetic"
epochs = 3
seeds = 3
analyses = ["inference", "memory", "grad_flow", "confusion", "receptive_field", "activations", "overfitting",
            "stability"]

[train]
batch_size = 32
precision = "fp32"
grad_flow_every = 1

[[models]]
name = "fc"
label = "Fully connected, 3 layers"

[[models]]
name = "simple-cnn"
label = "Simple CNN"
"""


@pytest.fixture(scope="session")
def tiny_study(tmp_path_factory):
    """A tiny real study, trained once through the notebook API: `cnnlab.run(file, epochs=1,
    seeds=2, subset=128)` over a study file that asks for more. 2 models x 2 seeds, every
    analysis (so the report has its widest tables). Returns the StudyResult; tests that
    change files work on a copy of `result.dir.parent.parent`."""
    import cnnlab

    root = tmp_path_factory.mktemp("tiny-api")
    path = root / "tiny.toml"
    path.write_text(TINY_STUDY, encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CNNLAB_CACHE", str(root / "cache"))
        mp.setenv("CNNLAB_DATA", str(root / "data"))
        return cnnlab.run(path, out=root / "out", epochs=1, seeds=2, subset=128, device="cpu", inference_repeats=2)
