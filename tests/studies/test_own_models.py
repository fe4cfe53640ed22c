"""Your own models (issue 36): a study file names `nets.py:TinyNet` beside it; its runs are keyed by
its code (editing the network trains again and marks the old runs stale, editing a comment
reuses them); worker processes load it by path and give the same numbers; plug-in modules'
models are found and keyed the same way; mistakes are one line; the example runs."""

import json
import shutil
import textwrap
from pathlib import Path

import pytest

from cnnlab.cli import main
from cnnlab.results import load_results
from cnnlab.store.schema import STUDY_FILE, read_study

ROOT = Path(__file__).resolve().parents[2]
NET = textwrap.dedent('''\
    import torch.nn as nn

    from helpers import Double  # a module beside it


    class TinyNet(nn.Module):
        def __init__(self, in_shape, num_classes, width: int = 8):
            super().__init__()
            c, h, w = in_shape
            self.features = nn.Sequential(nn.Conv2d(c, HIDDEN, 3, padding=1), Double(), nn.AdaptiveAvgPool2d(2))
            self.head = nn.Sequential(nn.Flatten(), nn.Linear(HIDDEN * 4, width), nn.ReLU(), nn.Linear(width, num_classes))

        def forward(self, x):
            return self.head(self.features(x))


    HIDDEN = 4
    ''')
HELPERS = textwrap.dedent('''\
    import torch.nn as nn


    class Double(nn.Module):
        def forward(self, x):
            return 2 * x
    ''')
STUDY = textwrap.dedent('''\
    name = "own"
    dataset = "synthetic"
    subset = 128
    test_subset = 64
    epochs = 1
    seeds = 2
    analyses = ["receptive_field"]
    [train]
    batch_size = 32
    precision = "fp32"
    [[models]]
    name = "nets.py:TinyNet"
    label = "Tiny"
    [[models]]
    name = "fc"
    label = "FC"
    ''')
ARGS = ("--device", "cpu", "--cpus-per-run", "1", "--quiet")


def _folder(tmp_path, net=NET):
    folder = tmp_path / "mine"
    folder.mkdir(exist_ok=True)
    (folder / "nets.py").write_text(net, encoding="utf-8")
    (folder / "helpers.py").write_text(HELPERS, encoding="utf-8")
    (folder / "study.toml").write_text(STUDY, encoding="utf-8")
    return folder


def _run(folder, out, *extra):
    assert main(["run", str(folder / "study.toml"), "--out", str(out), "--workers", "1", *ARGS, *extra]) == 0
    return load_results(out / "studies" / "own")


def _tiny(study):
    return next(m for m in study.models if m.label == "Tiny")


@pytest.mark.slow
def test_own_model_runs_and_is_keyed_by_its_code(tmp_path, capsys):
    folder = _folder(tmp_path)
    out = tmp_path / "out"
    first = _tiny(_run(folder, out))
    assert first.first("params") == (4 * 9 + 4) + (4 * 4 * 8 + 8) + (8 * 10 + 10)  # synthetic: 1 channel
    keys = {r.key for r in first.runs}
    # A comment: the same code, the same runs.
    (folder / "nets.py").write_text(NET.replace("# a module beside it", "# a comment changed"), encoding="utf-8")
    capsys.readouterr()
    assert {r.key for r in _tiny(_run(folder, out)).runs} == keys
    assert "(4 cached)" in capsys.readouterr().out
    # The network: trained again under new keys, with its new parameter count; the old runs are stale.
    (folder / "nets.py").write_text(NET.replace("HIDDEN = 4", "HIDDEN = 6"), encoding="utf-8")
    wider = _tiny(_run(folder, out))
    assert not keys & {r.key for r in wider.runs} and wider.first("params") > first.first("params")
    report = (out / "studies" / "own" / "report.md").read_text(encoding="utf-8")
    assert f"{wider.first('params'):,}" in report or "Tiny" in report
    capsys.readouterr()
    assert main(["runs", "--out", str(out), "--stale", "--json"]) == 0
    stale = json.loads(capsys.readouterr().out)
    assert {r["run_key"] for r in stale} == keys
    # A module it imports beside it is its code too.
    (folder / "helpers.py").write_text(HELPERS.replace("2 * x", "3 * x"), encoding="utf-8")
    assert not {r.key for r in wider.runs} & {r.key for r in _tiny(_run(folder, out)).runs}


@pytest.mark.slow
@pytest.mark.process(seconds=20)
def test_worker_processes_load_it_by_path_and_give_the_same_numbers(tmp_path):
    folder = _folder(tmp_path)
    alone = _tiny(_run(folder, tmp_path / "alone"))
    assert main(["run", str(folder / "study.toml"), "--out", str(tmp_path / "workers"), "--workers", "2", *ARGS]) == 0
    workers = _tiny(load_results(tmp_path / "workers" / "studies" / "own"))
    numbers = ("train_loss", "train_acc", "test_loss", "test_acc")
    assert ({r.seed: [[e[k] for k in numbers] for e in r.metrics] for r in alone.runs}
            == {r.seed: [[e[k] for k in numbers] for e in r.metrics] for r in workers.runs})


@pytest.mark.slow
def test_a_plug_in_modules_model_is_found_and_keyed_by_its_code(tmp_path, monkeypatch):
    plugin = tmp_path / "myplug"
    plugin.mkdir()
    source = textwrap.dedent('''\
        import torch.nn as nn

        from cnnlab.models.registry import register_model


        WIDTH = 4


        @register_model("plug-net")
        def plug_net(in_shape, num_classes, width: int = WIDTH):
            return nn.Sequential(nn.Flatten(), nn.Linear(in_shape[0] * in_shape[1] * in_shape[2], num_classes))
        ''')
    (plugin / "plugnets.py").write_text(source, encoding="utf-8")
    monkeypatch.syspath_prepend(str(plugin))
    monkeypatch.setenv("CNNLAB_PLUGINS", "plugnets")
    import cnnlab.plugins as plugins

    monkeypatch.setattr(plugins, "_loaded", False)
    folder = _folder(tmp_path)
    (folder / "study.toml").write_text(STUDY.replace('name = "nets.py:TinyNet"', 'name = "plug-net"'), encoding="utf-8")
    try:
        first = _tiny(_run(folder, tmp_path / "out"))
        (plugin / "plugnets.py").write_text(source.replace("nn.Flatten(), ", "nn.Flatten(), nn.Identity(), "),
                                            encoding="utf-8")
        again = _tiny(_run(folder, tmp_path / "out"))
        assert {r.key for r in first.runs}.isdisjoint({r.key for r in again.runs})
    finally:
        from cnnlab.models.registry import unregister_model

        unregister_model("plug-net")


@pytest.mark.parametrize("name, message", [
    ("missing.py:Net", "no file"),
    ("nets.py:Nope", "has no 'Nope'; it has: Double, HIDDEN, TinyNet"),
    ("nets.py:HIDDEN", "is a int, not a model class"),
    ("raises.py:Raises", "raises.py, line 6: RuntimeError: width must be even"),
    ("shape.py:WrongShape", "gives output (1, 7), expected (1, 10)"),
    ("broken.py:Net", "broken.py, line 1: syntax error"),
])
def test_mistakes_in_a_model_of_ones_own_are_one_line(name, message, tmp_path, capsys):
    folder = _folder(tmp_path)
    (folder / "raises.py").write_text("import torch.nn as nn\n\n\nclass Raises(nn.Module):\n    def __init__(self):\n"
                                      "        raise RuntimeError('width must be even')\n", encoding="utf-8")
    (folder / "shape.py").write_text("import torch.nn as nn\n\n\nclass WrongShape(nn.Module):\n    def __init__(self):\n"
                                     "        super().__init__()\n        self.lin = nn.Linear(784, 7)\n\n"
                                     "    def forward(self, x):\n        return self.lin(x.flatten(1))\n", encoding="utf-8")
    (folder / "broken.py").write_text("class Net(:\n", encoding="utf-8")
    (folder / "study.toml").write_text(STUDY.replace("nets.py:TinyNet", name), encoding="utf-8")
    assert main(["run", str(folder / "study.toml"), "--out", str(tmp_path / "out"), *ARGS]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_the_python_api_takes_classes_and_study_dicts(tmp_path, monkeypatch):
    import cnnlab
    import torch.nn as nn

    class Mini(nn.Module):  # defined here, with a file: keyed by it
        def __init__(self, in_shape, num_classes):
            super().__init__()
            self.net = nn.Sequential(nn.Flatten(), nn.Linear(in_shape[0] * in_shape[1] * in_shape[2], num_classes))

        def forward(self, x):
            return self.net(x)

    monkeypatch.chdir(_folder(tmp_path))
    result = cnnlab.train_model("nets.py:TinyNet", "synthetic", epochs=1, subset=64, out=tmp_path / "a", device="cpu",
                                progress=False)
    assert result.summary.test_acc.notna().all()
    study = {"name": "dicts", "dataset": "synthetic", "subset": 64, "epochs": 1, "seeds": 2, "analyses": [],
             "models": [{"name": Mini, "label": "Mini"}, {"name": "nets.py:TinyNet", "label": "Tiny"}]}
    result = cnnlab.run(study, out=tmp_path / "b", device="cpu", progress=False)
    assert set(result.summary.index) == {"Mini", "Tiny"} and result.summary.seeds_done.tolist() == [2, 2]


@pytest.mark.slow
def test_the_example_runs_at_a_tiny_size(tmp_path, monkeypatch):
    example = tmp_path / "own-model"
    shutil.copytree(ROOT / "examples" / "own-model", example)
    monkeypatch.chdir(example)
    assert main(["check-layer", "layers.py:SoftsignFunction", "--shape", "2,3,4,4", "--repeats", "2"]) == 0
    assert main(["run", "study.toml", "--out", str(tmp_path / "out"), "--epochs", "1", "--seeds", "2",
                 "--subset", "256", "--test-subset", "256", *ARGS]) == 0
    info = read_study(tmp_path / "out" / "studies" / "own-model" / STUDY_FILE)
    assert [m.label for m in info.models] == ["TinyNet", "Simple CNN", "FC"]
    assert "Mine: Is my TinyNet" in (tmp_path / "out" / "studies" / "own-model" / "report.md").read_text(encoding="utf-8")
