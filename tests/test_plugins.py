"""An analysis and a dataset plug in from outside the package: the analysis a folder shaped like
the built-in ones (measure.py + __init__.py), written and imported by this test, the dataset
registered here; a study file that names both (and asks two questions) trains, measures, reports
and answers, touching no cnnlab file. The analysis's measure.py is part of its runs' keys; its
report section is not."""

import pytest
import torch

import cnnlab
from cnnlab.data import ImageData, channel_stats, register_dataset, unregister_dataset
from cnnlab.fingerprint import code_fingerprint
from cnnlab.plugins import Analysis, Metric, analysis_names, register_analysis, unregister_analysis
from cnnlab.store.rundir import RunDir

TOY_DATA = "toy-bars"
TOY_ANALYSIS = "weight_norm"


def toy_data() -> ImageData:
    """Two classes: a bright horizontal or vertical bar over noise, 12x12 grey."""
    gen = torch.Generator().manual_seed(0)

    def sample(n):
        labels = torch.arange(n) % 2
        x = 30 * torch.rand(n, 1, 12, 12, generator=gen)
        x[labels == 0, :, 5:7, :] += 200
        x[labels == 1, :, :, 5:7] += 200
        return x.round().to(torch.uint8), labels

    (train_x, train_y), (test_x, test_y) = sample(96), sample(48)
    mean, std = channel_stats(train_x)
    return ImageData(TOY_DATA, ["horizontal", "vertical"], train_x, train_y, test_x, test_y, mean, std, "a test")


# The toy analysis, in the shape of the built-in ones (cnnlab/analyses/<name>/): a folder whose
# measure.py measures (it imports torch; part of the run key) and whose __init__.py registers the
# analysis with its report section (torch-free; not part of the run key).
TOY_INIT = f"""
from cnnlab.plugins import Analysis, Metric, register_analysis
from cnnlab.document import Paragraph, Section, Table


def measure(run):
    from toy_weight_norm.measure import weight_norm

    return {{"norm": weight_norm(run.model)}}


def section(study, dpi):
    s = Section("Weight norms")
    rows = [[m.label, f"{{v:.3f}}"] for m in study.models for v in m.values("weight_norm")[:1]]
    s.add(Table(["Model", "Weight norm (lowest seed)"], rows))
    s.add(Paragraph("Measured by a plug-in registered in a test.", note=True))
    return s


register_analysis(Analysis(
    name="{TOY_ANALYSIS}", description="L2 norm of all weights", measure=measure,
    check=lambda v: isinstance(v, dict) and isinstance(v.get("norm"), float),
    metrics=(Metric("weight_norm", "weight norm", lambda r: (r.analysis.get("{TOY_ANALYSIS}") or {{}}).get("norm")),),
    title="Weight norms", section=section, order=300, example=lambda run: {{"norm": 1.0}}))
"""
TOY_MEASURE = """
import torch


def weight_norm(model) -> float:
    return float(torch.sqrt(sum((p.detach().float() ** 2).sum() for p in model.parameters())))
"""


def measure_weight_norm(run) -> dict:
    return {"norm": float(torch.sqrt(sum((p.detach().float() ** 2).sum() for p in run.model.parameters())))}


@pytest.fixture
def plugins(tmp_path_factory, monkeypatch):
    """The toy dataset, registered here, and the toy analysis, a folder outside the package."""
    import importlib
    import sys

    register_dataset(TOY_DATA, lambda data_dir, download: toy_data(), description="bars, from a test",
                     in_shape=(1, 12, 12), num_classes=2, train_size=96, test_size=48)
    root = tmp_path_factory.mktemp("plugins")
    (root / "toy_weight_norm").mkdir()
    (root / "toy_weight_norm" / "__init__.py").write_text(TOY_INIT, encoding="utf-8")
    (root / "toy_weight_norm" / "measure.py").write_text(TOY_MEASURE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(root))
    importlib.import_module("toy_weight_norm")
    yield root / "toy_weight_norm"
    unregister_analysis(TOY_ANALYSIS)
    unregister_dataset(TOY_DATA)
    for name in ("toy_weight_norm", "toy_weight_norm.measure"):
        sys.modules.pop(name, None)


STUDY = f"""
name = "plugged"
title = "A study of plug-ins"
dataset = "{TOY_DATA}"
epochs = 2
seeds = 2
analyses = ["{TOY_ANALYSIS}", "overfitting"]
margin = 5.0

[train]
batch_size = 16
lr = 3e-3
precision = "fp32"

[[models]]
name = "fc"
label = "FC"
kwargs = {{ hidden = [32] }}

[[models]]
name = "simple-cnn"
label = "CNN"

[[models]]
name = "fc"
label = "Wide FC"
kwargs = {{ hidden = [128] }}

[[questions]]
title = "Q1"
kind = "best"
asks = "Which net sees bars best?"
models = ["FC", "CNN", "Wide FC"]
costs = ["params", "weight_norm"]

[[questions]]
title = "Q2"
kind = "pair"
asks = "Does width help a fully connected net?"
a = "Wide FC"
b = "FC"
"""


@pytest.mark.slow
def test_a_study_of_a_plugged_dataset_and_analysis_runs_reports_and_answers(plugins, tmp_path):
    path = tmp_path / "plugged.toml"
    path.write_text(STUDY, encoding="utf-8")
    result = cnnlab.run(path, out=tmp_path / "out", device="cpu", progress=False)

    runs = result.runs
    assert len(runs) == 6 and runs.status.eq("done").all()
    for run_dir in runs.run_dir:
        record = RunDir(run_dir).load()
        assert record.usable and record.analysis[TOY_ANALYSIS]["norm"] > 0
        assert record.config.code == code_fingerprint((TOY_ANALYSIS, "overfitting")) != code_fingerprint()

    md = (result.dir / "report.md").read_text(encoding="utf-8")
    assert "## Weight norms" in md and "Measured by a plug-in registered in a test." in md
    assert md.index("## Weight norms") > md.index("## Findings")  # its place: order 300
    assert "## Answers" in md and "Q1: Which net sees bars best?" in md and "Q2: Does width help" in md
    assert "Weight norm (mean over seeds)" in md  # a plug-in metric as a cost statement

    tests = result.tests
    assert set(tests.question) == {"Q1", "Q2", "every pair"}
    assert len(tests[tests.question == "Q1"]) == 3 and len(tests[tests.question == "Q2"]) == 1
    assert set(tests.verdict) <= {"better", "equivalent", "inconclusive"}
    assert (tests.margin == 0.05).all()  # the study's margin, 5 points
    html = (result.dir / "report.html").read_text(encoding="utf-8")
    assert "Weight norms" in html and "Which net sees bars best?" in html


def test_the_report_section_does_not_key_runs_but_the_measurement_does(plugins):
    before = code_fingerprint((TOY_ANALYSIS,))
    init = plugins / "__init__.py"
    init.write_text(init.read_text().replace('Section("Weight norms")', 'Section("Other")'), encoding="utf-8")
    assert code_fingerprint((TOY_ANALYSIS,)) == before  # the folder's report part: no new key
    measure = plugins / "measure.py"
    measure.write_text(measure.read_text().replace("** 2", "** 2 + 0"), encoding="utf-8")
    assert code_fingerprint((TOY_ANALYSIS,)) != before  # what it measures: a new key
    assert TOY_ANALYSIS in analysis_names()

    unregister_analysis(TOY_ANALYSIS)  # a one-module plug-in counts by its measure function
    register_analysis(Analysis(name=TOY_ANALYSIS, description="", measure=measure_weight_norm, check=lambda v: True))
    one_module = code_fingerprint((TOY_ANALYSIS,))
    unregister_analysis(TOY_ANALYSIS)
    register_analysis(Analysis(name=TOY_ANALYSIS, description="", measure=lambda run: {"norm": 0.0},
                               check=lambda v: True))
    assert code_fingerprint((TOY_ANALYSIS,)) != one_module


def test_an_analysis_registered_twice_is_an_error(plugins):
    with pytest.raises(ValueError, match="registered twice"):
        register_analysis(Analysis(name=TOY_ANALYSIS, description="", measure=measure_weight_norm,
                                   check=lambda v: True))


def test_the_report_of_a_study_whose_plugin_is_gone_still_renders(plugins, tmp_path, capsys):
    """Results outlive plug-ins: a report rendered without the plug-in leaves out its section,
    says so on stderr, and keeps the runs (their accuracies count)."""
    path = tmp_path / "plugged.toml"
    path.write_text(STUDY.replace("seeds = 2", "seeds = 1"), encoding="utf-8")
    result = cnnlab.run(path, out=tmp_path / "out", device="cpu", progress=False, report=False)
    unregister_analysis(TOY_ANALYSIS)
    from cnnlab.report import render_report
    from cnnlab.results import load_results

    md_path, _ = render_report(result.dir)
    md = md_path.read_text(encoding="utf-8")
    assert "## Weight norms" not in md and "damaged records" not in md
    assert f"{result.dir.name} measured the analysis {TOY_ANALYSIS!r}, which no loaded plug-in registers" in (
        capsys.readouterr().err)
    assert load_results(result.dir).models[0].values("test_acc")  # still counted
    register_analysis(Analysis(name=TOY_ANALYSIS, description="", measure=measure_weight_norm, check=lambda v: True))


def test_every_builtin_analysis_is_a_folder_with_a_measure_module_and_a_valid_example():
    """The built-ins have the shape the toy plug-in above has: measure.py (in the run key), and an
    __init__.py that registers, whose example value passes the analysis's own check."""
    import numpy as np

    from pathlib import Path

    from cnnlab.fingerprint import result_files
    from cnnlab.plugins import ExampleRun, analyses

    folder = Path(cnnlab.__file__).parent / "analyses"
    keyed = set(result_files())
    builtin = [a for a in analyses() if a.measure.__module__.startswith("cnnlab.analyses.")]
    assert {a.name for a in builtin} == {p.name for p in folder.iterdir() if (p / "__init__.py").is_file()}
    metrics = [{"epoch": e, "train_loss": 1.0 / e, "train_acc": 0.5 + 0.1 * e, "test_loss": 1.1 / e,
                "test_acc": 0.5 + 0.08 * e} for e in (1, 2, 3)]
    for analysis in builtin:
        assert analysis.measure.__module__ == f"cnnlab.analyses.{analysis.name}"
        assert folder / analysis.name / "measure.py" in keyed
        assert analysis.example is not None, analysis.name
        value = analysis.example(ExampleRun(rng=np.random.default_rng(0), params=1000, final_acc=0.9,
                                            metrics=metrics))
        assert analysis.check(value), analysis.name
