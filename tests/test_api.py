"""The notebook API end to end: `cnnlab.run` trains a tiny real study (the session fixture
`tiny_study`), and what it returns says exactly what the report and the run files say."""

import base64
import inspect
import io
import re
import shutil
import subprocess
import sys
import traceback
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.figure import Figure
from PIL import Image

import cnnlab
from cnnlab import settings
from cnnlab.cli import build_parser, main
from cnnlab.errors import UserError
from cnnlab.report import fmt, plots
from cnnlab.stats.summary import Summary
from cnnlab.store.index import open_index
from cnnlab.store.rundir import RunDir
from cnnlab.store.schema import METRIC_KEYS, RUNS_DIR


def _markdown_table(md: str, section: str) -> list[dict]:
    """The first table of a report.md section as {header: cell} rows."""
    body = md.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in body.splitlines() if line.startswith("| ")]
    header = [c.strip() for c in lines[0].strip("|").split(" | ")]
    return [dict(zip(header, (c.strip() for c in line.strip("|").split(" | ")))) for line in lines[1:]]


def _mean_std(row, metric: str, scale: float = 1.0, digits: int = 2, unit: str = "") -> str:
    std = row[f"{metric}_std"]
    return fmt.mean_std(Summary(2, row[metric], None if pd.isna(std) else std, None, None), scale, digits, unit)


def test_run_returns_the_reports_numbers(tiny_study):
    result = tiny_study
    assert result.name == "tiny-api" and result.report_path == result.dir / "report.html"
    runs, summary = result.runs, result.summary

    # One row per run: 2 models x 2 seeds (the call's overrides won over the file's 3 seeds, 3 epochs).
    assert len(runs) == 4 and set(runs.status) == {"done"} and runs.usable.all()
    assert sorted(zip(runs.label, runs.seed)) == sorted(
        (label, seed) for label in ("Fully connected, 3 layers", "Simple CNN") for seed in (0, 1))
    assert set(runs.epochs) == {1}
    with open_index(result.dir.parent.parent) as index:
        indexed = {r["run_key"]: r for r in index.rows()}
    assert set(runs.run_key) == set(indexed)
    for run in runs.itertuples():
        assert run.test_acc == indexed[run.run_key]["test_acc"] and run.params == indexed[run.run_key]["params"]
        assert Path(run.run_dir).name == run.run_key

    # One row per model, in the report's order, with the report's numbers.
    table = _markdown_table((result.dir / "report.md").read_text(encoding="utf-8"), "Summary")
    assert list(summary.index) == [row["Model"] for row in table]
    for (label, row), cells in zip(summary.iterrows(), table):
        assert cells["Params"] == fmt.count(row.params) and cells["MACs"] == fmt.count(row.macs)
        assert cells["Train acc"] == _mean_std(row, "train_acc", 100, unit="%")
        assert cells["Test acc"] == _mean_std(row, "test_acc", 100, unit="%")
        assert cells["Test acc 95% CI"] == fmt.ci(Summary(2, row.test_acc, row.test_acc_std, row.test_acc_ci_low,
                                                          row.test_acc_ci_high), 100)
        assert cells["Test loss"] == _mean_std(row, "test_loss", digits=3)
        assert cells["Train time"] == _mean_std(row, "train_seconds", digits=1, unit="s")
        assert cells["Time/epoch"] == _mean_std(row, "epoch_seconds", digits=2, unit="s")
        assert cells["Latency (batch 1)"] == f"{row.latency_ms:.2f} ms"
        assert cells["Throughput (batch 256)"] == f"{row.throughput:,.0f} img/s"
        assert cells["Peak train memory"] == fmt.size(row.peak_bytes)
        assert cells["Seeds"] == f"{row.seeds_done}/{row.runs}" == "2/2"
        # ... and they agree with the per-run table: mean and sample std over the seeds.
        seeds = runs[runs.label == label]
        assert row.test_acc == pytest.approx(seeds.test_acc.mean()) and row.params == seeds.params.iloc[0]
        assert row.test_acc_std == pytest.approx(seeds.test_acc.std(ddof=1))
        assert row.test_acc_ci_low < row.test_acc < row.test_acc_ci_high
    assert summary.params.dtype == "Int64" and summary.test_acc.dtype == "float64"


def test_epochs_table_is_every_metrics_row(tiny_study):
    epochs = tiny_study.epochs
    assert list(epochs.columns) == ["study", "profile", "model", "label", "seed", "run_key", "status", "usable",
                                    *METRIC_KEYS]
    assert len(epochs) == 4 and set(epochs.profile) == {"full"}
    for row in epochs.itertuples():
        stored = RunDir(tiny_study.dir.parent.parent / RUNS_DIR / row.run_key).load().metrics[row.epoch - 1]
        assert {k: getattr(row, k) for k in METRIC_KEYS} == stored
    assert all(pd.api.types.is_numeric_dtype(epochs[k]) for k in METRIC_KEYS)


def test_load_reads_the_same_results(tiny_study):
    loaded = cnnlab.load(tiny_study.dir)
    pd.testing.assert_frame_equal(loaded.summary, tiny_study.summary)
    pd.testing.assert_frame_equal(loaded.runs, tiny_study.runs)
    pd.testing.assert_frame_equal(loaded.epochs, tiny_study.epochs)
    assert "2 models, 4 of 4 runs done" in repr(loaded)
    with pytest.raises(UserError, match="no study.json"):
        cnnlab.load(tiny_study.dir.parent)


def test_figures_are_the_reports_plots(tiny_study):
    figures = tiny_study.figures()
    on_disk = sorted(p.stem for p in (tiny_study.dir / "plots").glob("*.png"))
    assert sorted(figures) == on_disk and "learning_curves" in figures and "grad_flow_heatmap" in figures
    assert all(isinstance(f, Figure) for f in figures.values())
    curves = tiny_study.figure("learning_curves")
    assert [ax.get_title() for ax in curves.axes] == ["Loss", "Accuracy"]
    # The same Figure the report's PNG was made from: re-rendered at the report's DPI, byte for byte.
    assert plots.png(curves, plots.DPI) == (tiny_study.dir / "plots" / "learning_curves.png").read_bytes()
    with pytest.raises(UserError, match="no figure 'loss'.*learning_curves"):
        tiny_study.figure("loss")


def test_repr_html_shows_summary_and_learning_curves(tiny_study):
    html = tiny_study._repr_html_()
    assert html.count("<table") == 1 and "Peak train memory" in html and "Fully connected, 3 layers" in html
    assert '<section id="summary">' in html and '<section id="learning-curves">' in html
    (src,) = re.findall(r'<img src="data:image/png;base64,([^"]+)"', html)
    image = Image.open(io.BytesIO(base64.b64decode(src)))
    image.load()
    assert image.format == "PNG" and image.width > 500


@pytest.mark.slow
def test_train_model_is_cnnlab_train(tmp_path, capsys):
    """One run through the API, then `cnnlab train` with the same settings: the same run
    (reused, not trained again), because both are the same one-run study."""
    out = tmp_path / "out"
    result = cnnlab.train_model("fc", "synthetic", epochs=1, subset=128, out=out, batch_size=32, precision="fp32",
                                device="cpu", progress=False)
    assert result.name == "train-fc-synthetic" and list(result.summary.index) == ["fc"]
    (key,) = result.runs.run_key
    mtime = (out / "runs" / key / "metrics.jsonl").stat().st_mtime_ns
    capsys.readouterr()
    code = main(["train", "--model", "fc", "--dataset", "synthetic", "--epochs", "1", "--subset", "128",
                 "--batch-size", "32", "--precision", "fp32", "--device", "cpu", "--quiet", "--out", str(out)])
    assert code == 0 and key in capsys.readouterr().out
    assert (out / "runs" / key / "metrics.jsonl").stat().st_mtime_ns == mtime


# (function, positional arguments, keywords, what the message says): each names the argument
# as a Python caller wrote it, never a command-line flag.
BAD_CALLS = [
    (cnnlab.train_model, ("simple-cnnn",), {}, "unknown model 'simple-cnnn' (model=); valid models: cnn-avgpool, "),
    (cnnlab.train_model, ("fc", "imagenet"), {}, "unknown dataset 'imagenet' (dataset=); valid datasets: "),
    (cnnlab.train_model, ("fc", "synthetic"), {"seed": -1}, "must be an integer in [0, 2,147,483,647], got -1 (seed=)"),
    (cnnlab.train_model, ("fc", "synthetic"), {"lr": 100.0}, "must be a number in (0, 10], got 100.0 (lr=)"),
    (cnnlab.train_model, ("fc", "synthetic"), {"grad_clip": -1}, "must be a number in [0, 1,000,000], got -1 (grad_clip=)"),
    (cnnlab.train_model, ("fc", "synthetic"), {"epochs": 0},
     "must be a positive integer up to 100,000, got 0 (epochs=)"),
    (cnnlab.train_model, ("fc", "synthetic"), {"learning_rate": 0.1},
     "cnnlab.train_model() takes no argument learning_rate=; valid: model, dataset, epochs, seed, out, "),
    (cnnlab.train_model, ("fc", "synthetic"), {"epoch": 2}, "takes no argument epoch= (did you mean epochs=?)"),
    (cnnlab.run, ("mnist-fc-vs-cnn",), {"epochs": 0}, "must be a positive integer up to 100,000, got 0 (epochs=)"),
    (cnnlab.run, ("mnist-fc-vs-cnn",), {"seeds": [0, 0]}, "repeated seed in [0, 0] (seeds=)"),
    (cnnlab.run, ("mnist-fc-vs-cnn",), {"precision": "fp8"}, "unknown precision 'fp8' (precision=); valid: "),
    (cnnlab.run, ("mnist-fc-vs-cnn",), {"analyses": ["confusoin"]}, "unknown analysis 'confusoin' (analyses=); valid"),
    (cnnlab.run, ("mnist-fc-vs-cnn",), {"analyses": "confusion"}, "expected a list of strings, got a string"),
    (cnnlab.run, ("mnist-fc-vs-cnn",), {"stand_in": {"minst": "mnist-small"}},
     "no study of this run uses dataset 'minst' (stand_in={'minst': 'mnist-small'}); they use: mnist"),
    (cnnlab.run, ("mnist-fc-vs-cnn",), {"dataset": "synthetic", "stand_in": {"mnist": "mnist-small"}},
     "dataset= replaces every study's dataset and stand_in={'OLD': 'NEW'} only OLD: give one of them"),
    (cnnlab.run, ("mnist-fc-vs-cnn",), {"profile": "tiny"}, "unknown profile 'tiny' (profile=); valid: quick, reference, full"),
    (cnnlab.run, ("mnist-fc-vs-cnn",), {"workers": 0}, "must be an integer in [1, 256], got 0 (workers=)"),
    (cnnlab.run, ("mnist-fc-vs-cnn",), {"executor": "ray", "workers": 2},
     "is for executor='local' (workers=); Ray schedules"),
    (cnnlab.run, ("mnist-fc-vs-cnn",), {"progress": "loud"}, "expected True, False or 'lines', got 'loud' (progress=)"),
    (cnnlab.run, ("mnist-fc-vs-cnn", ""), {}, "is empty (out=); give a directory (e.g. out='runs', or out='.' "),
    (cnnlab.run, ("mnist-fc-vs-cnn",), {"epoch": 2},
     "cnnlab.run() takes no argument epoch= (did you mean epochs=?); valid: study, out, profile, epochs, seeds, "),
    (cnnlab.run, ("nope",), {}, "unknown study 'nope'"),
    (cnnlab.run, ("mnist-fc-vs-cnn", Path("study.toml")), {},
     "study.toml exists and is not a directory (out='study.toml')"),
]


@pytest.mark.parametrize("function,args,kwargs,message", BAD_CALLS)
def test_a_mistake_names_the_python_argument_and_ends_at_the_call(function, args, kwargs, message, tmp_path,
                                                                   monkeypatch):
    """Issue 21: in a notebook a mistake is one line under a traceback of the call itself (no
    frames inside cnnlab, no chained exception), worded for Python."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "study.toml").write_text("")
    out = {} if len(args) > 1 and function is cnnlab.run else {"out": tmp_path / "out"}
    with pytest.raises(UserError) as caught:
        function(*args, **out, **kwargs)
    text = str(caught.value)
    assert message in text and "--" not in text and "key '" not in text
    frames = traceback.extract_tb(caught.value.__traceback__)
    assert len(frames) == 2 and Path(frames[-1].filename).name == "api.py"  # this test, then the API function
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert len(traceback.format_exception(caught.value)) == 4  # "Traceback", two frames, the error
    assert [p.name for p in tmp_path.iterdir()] == ["study.toml"]  # nothing written


def _options(parser, command: str) -> set[str]:
    """The options of `cnnlab COMMAND`, by the name the Python API gives them."""
    as_python = {"offline": "download", "no_report": "report", "quiet": "progress"}
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    return {as_python.get(a.dest, a.dest) for a in sub._actions if a.dest != "help"}


def _keywords(function, scope: str) -> set[str]:
    """What `function` takes: its own parameters, and for its **train_settings the declared
    settings of `scope` (cnnlab.settings), as its error for an unknown keyword lists them."""
    with pytest.raises(UserError) as caught:
        function("mnist-fc-vs-cnn", no_such_keyword=1)
    listed = set(str(caught.value).split("; valid: ")[1].split(", "))
    own = set(inspect.signature(function).parameters) - {"train_settings"}
    assert listed == own | set(settings.names_in(scope))
    return listed


def test_every_option_of_run_and_train_is_a_keyword_of_the_api_and_the_other_way_round():
    parser = build_parser()
    assert _options(parser, "run") == _keywords(cnnlab.run, settings.RUN_COMMAND)
    assert _options(parser, "train") == _keywords(cnnlab.train_model, settings.TRAIN_COMMAND)


@pytest.mark.slow
def test_import_cnnlab_and_help_do_not_import_torch_or_pandas():
    code = ("import sys, cnnlab, cnnlab.cli\n"
            "cnnlab.cli.build_parser().format_help()\n"
            "assert {'run', 'load', 'train_model', 'create_model', 'StudyResult'} <= set(dir(cnnlab))\n"
            "print(sorted(m for m in ('torch', 'pandas', 'matplotlib') if m in sys.modules))\n"
            "cnnlab.create_model\n"
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split("\n")[:2] == ["[]", "True"]


LIGHT_COMMANDS = (["analyses"], ["settings"], ["studies"], ["studies", "--json"], ["datasets"], ["runs", "--out", "{out}"],
                  ["report", "{study}"])


@pytest.mark.process
def test_listings_and_reports_import_no_torch(tiny_study, tmp_path):
    """What only lists or reads results loads no torch (seconds per command, and per worker
    process for the plug-ins), nor scipy or matplotlib until a report computes or draws."""
    out = tmp_path / "out"
    shutil.copytree(tiny_study.dir.parent.parent, out)
    for argv in LIGHT_COMMANDS:
        argv = [a.format(out=out, study=out / "studies" / tiny_study.dir.name) for a in argv]
        code = ("import sys\nfrom cnnlab.cli import main\n"
                f"assert main({argv!r}) == 0\n"
                "print(sorted(m for m in ('torch', 'torchvision') if m in sys.modules))\n")
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines()[-1] == "[]", argv
    code = ("import sys\nimport cnnlab.plugins\ncnnlab.plugins.load_plugins()\n"
            "print(sorted(m for m in ('torch', 'scipy', 'matplotlib') if m in sys.modules))\n")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "[]"


def test_the_command_to_add_seeds_keeps_the_calls_settings(tiny_study, tmp_path, monkeypatch, capsys):
    """Before: a study run from Python suggested `cnnlab run STUDY --profile full --seeds N --out ...`,
    which dropped the call's epochs, subset and the rest, so it reused nothing. Now the manifest
    holds the equal `cnnlab run` command, and the report's suggestion reuses every finished run."""
    import shlex

    from cnnlab.report.build import planned_command
    from cnnlab.results import load_results

    study = load_results(tiny_study.dir)
    words = shlex.split(study.manifest.command)
    assert words[:3] == ["cnnlab", "run", str(tiny_study.dir.parent.parent.parent / "tiny.toml")]
    for flag, value in (("--epochs", "1"), ("--seeds", "2"), ("--subset", "128"), ("--inference-repeats", "2"),
                        ("--out", str(tiny_study.dir.parent.parent))):
        assert words[words.index(flag) + 1] == value
    suggested = shlex.split(planned_command(study, 2))  # planned for as many seeds as ran: every run is reused
    assert suggested[suggested.index("--max-seeds") + 1] == "2" and "--until-decided" in suggested
    assert suggested[suggested.index("--out") + 1] != str(tiny_study.dir.parent.parent)  # a new plan, a new folder
    out = tmp_path / "out"
    shutil.copytree(tiny_study.dir.parent.parent, out)
    suggested[suggested.index("--out") + 1] = str(out)
    root = tiny_study.dir.parent.parent.parent
    monkeypatch.setenv("CNNLAB_CACHE", str(root / "cache"))
    monkeypatch.setenv("CNNLAB_DATA", str(root / "data"))
    capsys.readouterr()
    assert main([*suggested[1:], "--device", "cpu", "--no-report"]) == 0
    assert "(4 cached)" in capsys.readouterr().out


def test_one_epoch_is_said_in_the_singular():
    """Before: "1 epochs each" in the line that opens a study run with epochs=1."""
    from types import SimpleNamespace

    from cnnlab.console import study_header
    from cnnlab.units import counted

    assert (counted(1, "epoch"), counted(3, "epoch"), counted(1200, "run")) == ("1 epoch", "3 epochs", "1,200 runs")
    spec = SimpleNamespace(label="FC", seed=0, role="eval", study="s", profile="full", train={"epochs": 1},
                           dataset="mnist-small")
    data = SimpleNamespace(train_labels=[0] * 128, test_labels=[0] * 64)
    assert "1 epoch each" in study_header([spec], data) and "epochs each" not in study_header([spec], data)
