"""A tiny real study, trained by the runner, then reported; and `cnnlab report` re-renders it."""

import re
from pathlib import Path

import pytest
import torch

from cnnlab.analyses.inference.measure import measure_inference
from cnnlab.cli import main
from cnnlab.report import plots, section_titles
from cnnlab.report.build import NOT_MEASURED
from cnnlab.plugins import analysis_names
from cnnlab.results import get_metric
from cnnlab.store.schema import RunRecord
from cnnlab.studies.loader import parse_study
from cnnlab.studies.runner import run_study

from test_report_render import Page, sections_md

TITLE = "<script>alert(1)</script>"


@pytest.mark.slow
def test_tiny_study_end_to_end_then_rerender(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(plots, "DPI", 30)  # tests check structure, not looks
    study = parse_study({
        "name": "tiny", "title": TITLE, "reference": "1.1", "dataset": "synthetic", "subset": 128,
        # Every analysis but inference timing, the slowest on a busy CPU; its stored format is
        # checked against the real measure_inference below.
        "epochs": 1, "seeds": 2, "analyses": [a for a in analysis_names() if a != "inference"],
        "train": {"batch_size": 64, "precision": "fp32"},
        "models": [{"name": "fc", "label": "FC"}, {"name": "simple-cnn", "label": "Simple CNN"}],
        "questions": [{"title": "Q", "kind": "best", "asks": "Which is best?", "models": ["FC", "Simple CNN"]}],
        "claims_source": "seed report 000",
        "claims": [{"their_model": "simple CNN", "model": "Simple CNN", "metric": "test_acc", "value": 98.96,
                    "dataset": "mnist"}]}, "test")
    info = run_study(study.with_overrides(inference_repeats=2), tmp_path, device="cpu", verbosity="quiet")

    md_path, html_path = (Path(p) for p in info["report"])
    md, html = md_path.read_text(encoding="utf-8"), html_path.read_text(encoding="utf-8")
    body = sections_md(md)
    # Every analysis but inference ran, so only its section (time per block) is gathered as unmeasured.
    titles = [t for t in section_titles() if t != "Time per block"]
    titles.insert(titles.index("Manifest"), "Not measured")
    assert list(body) == titles
    for name in titles[:-2]:
        assert NOT_MEASURED not in body[name].replace(f"Inference latency and throughput: {NOT_MEASURED}", ""), name
    assert re.search(r"^\| (FC|Simple CNN) \| \d", body["Summary"], flags=re.M)
    assert "t-test p" in body["Comparisons"] and "(Welch)" in body["Comparisons"]
    assert "98.96 %" in body["Claims of other reports"]
    assert "Q: Which is best?" in body["Answers"] and "Decided: " in body["Answers"]

    page = Page(html)
    assert page.h2 == titles and page.title == TITLE
    assert TITLE not in html and "script" not in page.tags
    assert page.images and all(i["src"].startswith("data:image/png;base64,") for i in page.images)

    # Re-render from the output directory: nothing is trained again.
    metrics = sorted(tmp_path.glob("runs/*/metrics.jsonl"))
    before = [p.stat().st_mtime_ns for p in metrics]
    md_path.unlink()
    assert main(["report", str(tmp_path)]) == 0
    assert str(md_path) in capsys.readouterr().out
    assert sections_md(md_path.read_text(encoding="utf-8")).keys() == body.keys()
    assert [p.stat().st_mtime_ns for p in metrics] == before


def test_real_inference_measurements_reach_the_summary():
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3))
    inference = measure_inference(model, (1, 4, 4), batch_sizes=(1, 256), repeats=3, warmup=0)
    run = RunRecord("k", "done", analysis={"inference": inference})
    assert get_metric("latency_ms").read(run) == inference["results"][0]["median_ms"] > 0
    assert get_metric("throughput").read(run) == inference["results"][1]["images_per_second"] > 0
