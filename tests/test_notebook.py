"""The notebook API in a real Jupyter kernel: a notebook executed by nbclient in a fresh
ipykernel (this interpreter, ipywidgets installed) trains a tiny study with `cnnlab.run` and
uses what it returns. Nothing here runs `%matplotlib inline` or imports pyplot."""

import json
import sys
import textwrap

import pytest

pytestmark = pytest.mark.notebook

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("ipywidgets")

STUDY = """\
name = "notebook"
title = "Tiny study in a notebook"
dataset = "synthetic"
epochs = 2
seeds = 1
subset = 128
analyses = ["confusion"]

[train]
batch_size = 32
precision = "fp32"

[[models]]
name = "simple-cnn"
label = "Simple CNN"
"""

CELLS = {
    "run": """\
        import sys
        import cnnlab
        result = cnnlab.run("study.toml", out="out", device="cpu", inference_repeats=2)
        print("pyplot imported:", "matplotlib.pyplot" in sys.modules)""",
    "figure": """result.figure("learning_curves")""",  # a cell's last value
    # The `cnnlab run` command equal to this call: what the report's "to decide" line builds on.
    "command": """        from cnnlab.results import load_results
        print(load_results(result.dir).manifest.command)""",
    # Mistakes end at the API: one line naming the argument as written, a short traceback.
    "typo": """cnnlab.train_model("simple-cnnn", "synthetic", out="out")""",
    "keyword": """cnnlab.run("study.toml", out="out", epoch=3)""",
    # A tuned study's own plot, from the same API.
    "tuning": """\
        tuned = cnnlab.run("study.toml", out="out", device="cpu", tune=True, progress=False)
        tuned.figure("tuning")""",
    "display": """display(result.figure("accuracy_vs_cost"))""",
    # The trained model back, evaluated the way the trainer evaluated its last epoch.
    "model": """\
        import json
        import torch
        from cnnlab.store.rundir import RunDir
        from cnnlab.studies.run_one import load_run_data
        from cnnlab.train import Inputs, TrainConfig, evaluate, resolve_precision
        model = result.model("Simple CNN", seed=0)
        run = result.runs.set_index(["label", "seed"]).loc[("Simple CNN", 0)]
        record = RunDir(run.run_dir).load()
        spec = record.config
        data = load_run_data(spec.dataset, spec.subset, spec.test_subset)
        config, cpu = TrainConfig.from_dict(spec.train), torch.device("cpu")
        precision = resolve_precision(config.precision, cpu)
        ev = evaluate(precision.apply_to_model(model), data.test_images, data.test_labels,
                      Inputs(data, precision, cpu, config), data.num_classes, config.eval_batch_size)
        recorded = record.analysis["confusion"]["matrix"]
        print(json.dumps({"training": model.training, "accuracy": ev.accuracy, "recorded": run.test_acc,
                          "confusion": ev.confusion.tolist(), "recorded_confusion": recorded,
                          "same_as_load_model": all(torch.equal(a, b) for a, b in zip(
                              model.state_dict().values(), cnnlab.load_model(run.run_dir).state_dict().values()))}))""",
}


RAISES = ("typo", "keyword")  # cells whose error is what the test reads; the notebook goes on


def _outputs(cell) -> list[dict]:
    return cell["outputs"]


def _stderr(cell) -> str:
    return "".join(o["text"] for o in _outputs(cell) if o["output_type"] == "stream" and o["name"] == "stderr")


def _stdout(cell) -> str:
    return "".join(o["text"] for o in _outputs(cell) if o["output_type"] == "stream" and o["name"] == "stdout")


def _data(cell, mime: str) -> list:
    return [o["data"][mime] for o in _outputs(cell) if o["output_type"] in ("execute_result", "display_data")
            and mime in o.get("data", {})]


@pytest.fixture(scope="module")
def notebook(tmp_path_factory):
    """The executed notebook's cells by name. The kernel is this interpreter (a kernelspec of
    our own on JUPYTER_PATH), with this process's environment (PYTHONPATH, CNNLAB_*)."""
    return _execute(tmp_path_factory.mktemp("notebook"), CELLS)


# A kernel where ipywidgets cannot be imported (None in sys.modules makes the import fail).
NO_WIDGETS = {"run": """    import sys
    sys.modules["ipywidgets"] = None
    import cnnlab
    result = cnnlab.run("study.toml", out="out", device="cpu", inference_repeats=2)"""}


def _execute(root, cells):
    """Run `cells` (name -> code) in a fresh kernel with the study file in `root`; the cells by name."""
    spec = root / "jupyter" / "kernels" / "cnnlab-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "cnnlab test", "language": "python"}))
    (root / "study.toml").write_text(STUDY, encoding="utf-8")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(textwrap.dedent(code), metadata={
        "name": name, "tags": ["raises-exception"] if name in RAISES else []}) for name, code in cells.items()]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", str(root / "jupyter"))
        mp.setenv("CNNLAB_CACHE", str(root / "cache"))
        mp.setenv("CNNLAB_DATA", str(root / "data"))
        mp.delenv("MPLBACKEND", raising=False)
        client = nbclient.NotebookClient(nb, timeout=600, kernel_name="cnnlab-test",
                                         resources={"metadata": {"path": str(root)}})
        client.execute()
    return {cell["metadata"]["name"]: cell for cell in nb.cells}


def test_figures_render_inline_in_a_fresh_kernel(notebook):
    assert "pyplot imported: False" in _stdout(notebook["run"])  # no inline backend hook was ever set up
    for name in ("figure", "display"):
        pngs = _data(notebook[name], "image/png")
        assert len(pngs) == 1, f"cell {name!r}: {_outputs(notebook[name])}"
        assert pngs[0].startswith("iVBORw0KGgo")  # base64 of the PNG signature


def test_widget_bars_and_no_per_epoch_lines_on_stderr(notebook):
    run = notebook["run"]
    assert _data(run, "application/vnd.jupyter.widget-view+json")  # progress shown as widgets
    assert "epoch 1/2" not in _stderr(run) and "train loss" not in _stderr(run)
    assert "[1/1] Simple CNN seed 0: done" in _stdout(run)  # the one line per run stays


def test_model_accessor_returns_the_trained_model(notebook):
    got = json.loads(_stdout(notebook["model"]))
    assert got["training"] is False  # ready for inference
    assert got["accuracy"] == got["recorded"]  # the last epoch's test accuracy, evaluated again
    assert got["confusion"] == got["recorded_confusion"]  # every prediction, as the confusion analysis counted them
    assert 0.3 < got["accuracy"] < 1  # trained: well above chance on the synthetic task's classes
    assert got["same_as_load_model"]


def test_a_mistake_is_one_line_worded_for_python_with_a_short_traceback(notebook):
    (error,) = [o for o in _outputs(notebook["typo"]) if o["output_type"] == "error"]
    assert error["ename"] == "UserError"
    assert "unknown model 'simple-cnnn' (model=); valid models:" in error["evalue"] and "--model" not in error["evalue"]
    frames = [line for line in error["traceback"] if "File " in line or "Cell In[" in line]
    assert len(frames) <= 3, error["traceback"]  # the cell and the API function, not cnnlab's insides
    (error,) = [o for o in _outputs(notebook["keyword"]) if o["output_type"] == "error"]
    assert "epoch" in error["evalue"] and "epochs" in error["evalue"]  # the unknown keyword, and the valid ones


def test_the_tuning_plot_renders_inline(notebook):
    pngs = _data(notebook["tuning"], "image/png")
    assert len(pngs) == 1 and pngs[0].startswith("iVBORw0KGgo"), _outputs(notebook["tuning"])


def test_without_ipywidgets_a_notebook_gets_lines_and_one_hint(tmp_path):
    """Before: a TqdmWarning and 118 stderr chunks of text-bar escapes. Now: one hint, one line
    per epoch and per run on stdout, nothing on stderr."""
    cell = _execute(tmp_path, NO_WIDGETS)["run"]
    out, err = _stdout(cell), _stderr(cell)
    assert err == "", err
    assert not _data(cell, "application/vnd.jupyter.widget-view+json")
    assert out.count("progress bars in Jupyter need ipywidgets") == 1
    assert "Simple CNN seed 0 epoch 1/2  train loss" in out and "Simple CNN seed 0 epoch 2/2" in out, out
    assert "\r" not in out and "\x1b" not in out
    assert "[1/1] Simple CNN seed 0: done" in out


def test_the_run_from_a_notebook_records_the_equal_command(notebook):
    """Before: a run from a notebook had no command (manifest "—"), and the report's suggestion to add
    seeds dropped the call's settings. Now the equal `cnnlab run` command is recorded."""
    assert _stdout(notebook["command"]).strip() == "cnnlab run study.toml --inference-repeats 2 --out out"
