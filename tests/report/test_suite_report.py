"""The suite report rendered from fake results: escaping, links, figures copied from the study
reports, and what it says when a study is missing or holds results of another profile."""

import re

import pytest

from cnnlab.errors import UserError
from cnnlab.io import atomic_write_json
from cnnlab.report import render_report
from cnnlab.document import Link
from cnnlab.document.html import to_html
from cnnlab.document.markdown import to_markdown
from cnnlab.document import Document, Section
from cnnlab.report.suite import render_suite_report
from cnnlab.store.schema import SUITE_FILE, Invocation, Manifest, SuiteRecord, SuiteStudy, read_suite

from conftest import write_study
from test_report_render import Page, sections_md

EVIL = "<script>alert(1)</script>"


def write_suite(root, studies, profile="full", settings=None):
    """OUT/suite.json as `cnnlab run all` writes it: these (name, reference, title) studies, one invocation."""
    record = SuiteRecord(
        profile=profile, settings=settings or {"profile": profile, "overrides": {}},
        studies=[SuiteStudy(name=n, reference=r, title=t) for n, r, t in studies],
        hardware=Manifest(device="Fake CPU", threads=1, executor="local, 2 workers", precision="fp32",
                          torch_version="2.x", cnnlab_version="0.1.0", code="0" * 16),
        invocations=[Invocation(started="2025-01-01T10:00:00", finished="2025-01-01T10:18:00",
                                wall_clock_seconds=1083.0, runs_trained=12, runs_cached=0, runs_failed=0,
                                command="cnnlab run all")])
    atomic_write_json(root / SUITE_FILE, record.to_json())


@pytest.fixture(scope="module")
def suite_dir(tmp_path_factory):
    """Two fake studies with rendered reports (the suite copies their plots) and a suite.json
    naming a third that never ran; the tests only render the suite report again."""
    tmp_path = tmp_path_factory.mktemp("suite")
    write_study(tmp_path, title=EVIL, name="mnist-fc-vs-cnn", reference="1.1",
                models=(("fc", EVIL), ("simple-cnn", "Simple CNN"), ("residual-cnn", "Residual CNN")),
                accuracies=(0.9, 0.95, 0.96))
    write_study(tmp_path, name="cifar-kernel-size", reference="2.1", profile="quick",
                models=(("kernel-3x3", "3x3"), ("kernel-5x5", "5x5")), accuracies=(0.7, 0.6))
    for name in ("mnist-fc-vs-cnn", "cifar-kernel-size"):
        render_report(tmp_path / "studies" / name, dpi=30)
    write_suite(tmp_path, [("mnist-fc-vs-cnn", "1.1", "MNIST"), ("cifar-kernel-size", "2.1", "Kernels"),
                           ("cifar-depth", "2.2", "Depth")])
    return tmp_path


@pytest.mark.slow
def test_suite_report_escapes_user_strings_and_links_the_studies(suite_dir):
    md_path, html_path = render_suite_report(suite_dir)
    md, html = md_path.read_text(encoding="utf-8"), html_path.read_text(encoding="utf-8")
    assert EVIL not in md and EVIL not in html
    assert "&lt;script>alert(1)&lt;/script>" in md  # shown as text, in headings, links and answers
    page = Page(html)
    assert "script" not in page.tags and EVIL in html.replace("&lt;", "<").replace("&gt;", ">")
    assert "[&lt;script>alert(1)&lt;/script>](studies/mnist-fc-vs-cnn/report.md)" in md
    assert '<a href="studies/mnist-fc-vs-cnn/report.html">&lt;script&gt;' in html
    # the answer's figures are the study's own PNGs, copied next to the suite report
    study_png = (suite_dir / "studies" / "mnist-fc-vs-cnn" / "plots" / "accuracy_vs_cost.png").read_bytes()
    assert (suite_dir / "plots" / "1.1-accuracy_vs_cost.png").read_bytes() == study_png
    assert any(i["src"].startswith("data:image/png;base64,") for i in page.images)


def test_header_states_profile_hardware_wall_clock_and_runs(suite_dir):
    md = render_suite_report(suite_dir)[0].read_text(encoding="utf-8")
    head = md.split("## Studies")[0]
    assert "Profile: full (each study's own settings)." in head
    assert "Hardware: Fake CPU, 1 thread per run, executor local, 2 workers, precision fp32, torch 2.x." in head
    assert "Wall-clock of this invocation: 18 min 03 s; runs: 12 trained, 0 reused" in head


def test_missing_study_and_other_profile_are_not_answered(suite_dir):
    body = sections_md(render_suite_report(suite_dir)[0].read_text(encoding="utf-8"))
    kernels = next(v for k, v in body.items() if k.startswith("2\\.1"))
    assert "Not answered: the results in studies/cifar-kernel-size are of profile 'quick'" in kernels
    assert "Answer:" not in kernels
    depth = next(v for k, v in body.items() if k.startswith("2\\.2"))
    assert "Not answered: this study has no results" in depth
    mnist = next(v for k, v in body.items() if k.startswith("1\\.1"))
    assert "Answer: " in mnist and "Claims of seed report 000: " in mnist and re.search(r"Decided: \d+ of \d+", mnist)


@pytest.mark.slow
def test_report_command_renders_the_suite_report_too(tmp_path, monkeypatch, capsys):
    from cnnlab.cli import main
    from cnnlab.report import plots

    monkeypatch.setattr(plots, "DPI", 30)
    write_study(tmp_path, name="mnist-fc-vs-cnn", reference="1.1", models=(("fc", "FC"), ("simple-cnn", "CNN")))
    write_suite(tmp_path, [("mnist-fc-vs-cnn", "1.1", "MNIST")])
    runs = {p: p.stat().st_mtime_ns for p in tmp_path.glob("runs/*/*")}
    assert main(["report", str(tmp_path)]) == 0
    printed = capsys.readouterr().out.split()
    assert str(tmp_path / "studies" / "mnist-fc-vs-cnn" / "report.md") in printed
    assert str(tmp_path / "report.md") in printed and str(tmp_path / "report.html") in printed
    assert "Answer: " in (tmp_path / "report.md").read_text(encoding="utf-8")
    assert {p: p.stat().st_mtime_ns for p in tmp_path.glob("runs/*/*")} == runs


def test_a_damaged_suite_file_is_one_clear_error(tmp_path, damage_file):
    (tmp_path / SUITE_FILE).write_text("{not json")
    with pytest.raises(UserError, match="not a suite file"):
        read_suite(tmp_path / SUITE_FILE)
    write_suite(tmp_path, [])
    damage_file(tmp_path / SUITE_FILE, lambda suite: {**suite, "schema": 1})
    with pytest.raises(UserError, match="an older cnnlab"):
        read_suite(tmp_path / SUITE_FILE)


def test_link_text_and_target_cannot_break_out():
    doc = Document("t", [], [Section("s", [Link("a](javascript:x) [b", "studies/x y/report")])])
    md, html = to_markdown(doc), to_html(doc)
    assert "[a\\](javascript:x) \\[b](studies/x%20y/report.md)" in md
    assert '<a href="studies/x%20y/report.html">a](javascript:x) [b</a>' in html


def test_header_names_each_stand_in_dataset_escaped(tmp_path):
    overrides = {"epochs": 2, "stand_in": {"mnist": "mnist-small", EVIL: "fashion-mnist"}}
    write_suite(tmp_path, [("mnist-fc-vs-cnn", "1.1", "MNIST")], settings={"profile": "full", "overrides": overrides})
    md_path, html_path = render_suite_report(tmp_path)
    head = md_path.read_text(encoding="utf-8").split("## Studies")[0]
    assert ("overridden on the command line: epochs 2, fashion-mnist standing in for &lt;script>alert(1)&lt;/script>, "
            "mnist-small standing in for mnist.") in head
    assert EVIL not in html_path.read_text(encoding="utf-8")
