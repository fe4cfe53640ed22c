"""`cnnlab run all` end to end on a tiny real run: six studies, the suite report with an answer per
course question, then a second invocation that reuses every run and `cnnlab report OUT`."""

import re

import pytest

from cnnlab.report import fmt, plots
from cnnlab.report.answers import answers
from cnnlab.results import load_results
from cnnlab.store.schema import SUITE_FILE, read_suite
from cnnlab.studies.loader import load_builtin_studies

pytestmark = pytest.mark.slow(seconds=30)  # the suite fixture below trains six studies: ~100 s in all

QUESTIONS = ("1.1", "1.2", "2.1", "2.2", "3.1", "3.2")
# Small enough for a test: every built-in model takes 1x28x28 synthetic images; inference
# timing and memory (the slow analyses) are left out, every analysis an answer reads is kept.
ARGS = ("--dataset", "synthetic", "--subset", 64, "--test-subset", 50, "--epochs", 1, "--seeds", 2,
        "--workers", 1, "--cpus-per-run", 1, "--device", "cpu", "--precision", "fp32",
        "--analyses", "overfitting,confusion,grad_flow,receptive_field,erf,stability")
RUNS = sum(len(s.models) for s in load_builtin_studies()) * 2


def sections(md: str) -> dict[str, str]:
    parts = re.split(r"^## (.+)$", md, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def mtimes(paths):
    return {p: p.stat().st_mtime_ns for p in paths}


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    """One `cnnlab run all`, shared by the tests below (they only read it, except the last)."""
    from cnnlab.cli import main

    out = tmp_path_factory.mktemp("suite")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(plots, "DPI", 30)  # structure, not looks
        code = main(["run", "all", *map(str, ARGS), "--out", str(out), "--quiet"])
    assert code == 0
    return out


def test_every_question_has_an_answer_with_its_evidence_and_figure(suite):
    md = (suite / "report.md").read_text(encoding="utf-8")
    html = (suite / "report.html").read_text(encoding="utf-8")
    body = sections(md)
    titles = [t for t in body if t != "Studies"]
    assert [t.split(" ")[0].replace("\\", "") for t in titles] == list(QUESTIONS)
    for title in titles:
        text = body[title]
        assert "Question " in text and "Answer: " in text and "Claims of seed report 000: " in text, title
        assert re.search(r"^- Test accuracy \(mean over seeds, 95% CI\): ", text, flags=re.M), title
        assert re.search(r"!\[[^\]]+\]\(plots/\d\.\d-[a-z_]+\.png\)", text), title  # a figure, copied
        assert re.search(r"\[Full report: [^\]]+\]\(studies/[a-z0-9-]+/report\.md\)", text), title
    for png in re.findall(r"\(plots/([^)]+)\)", md):
        assert (suite / "plots" / png).is_file()
    assert 'href="studies/cifar-depth/report.html"' in html and "data:image/png;base64," in html
    # the six study reports the table links to exist
    for link in re.findall(r"\]\((studies/[^)]+)\)", md):
        assert (suite / link).is_file(), link


def test_wording_follows_the_verdicts(suite):
    md = (suite / "report.md").read_text(encoding="utf-8")
    directional = [line for line in md.splitlines() if "is higher than" in line]
    undecided = [line for line in md.splitlines() if line.startswith("- No significant difference")]
    assert undecided  # with one epoch on 64 images most differences are not decided
    for line in directional:
        assert "Holm-adjusted p" in line or "Welch p" in line
    for line in undecided:  # never a bare "not significant": the verdict and what would decide it
        assert re.search(r"\d+(\.\d)?% CI \[", line) and "is higher than" not in line and "inconclusive" in line
    assert re.search(r"Decided: \d+ of \d+ comparisons", md)  # the suite page counts them per question
    for name in ("mnist-fc-vs-cnn", "cifar-kernel-size", "cifar-custom-layers"):
        for result in answers(load_results(suite / "studies" / name)):
            assert result.comparisons
            for c in result.comparisons:
                said = f"{fmt.possessive(c.a.label)} test accuracy is higher than {fmt.possessive(c.b.label)}"
                assert (said in " ".join(result.evidence)) == (c.verdict == "better")
            if not any(c.verdict == "better" for c in result.comparisons):
                assert "better than" not in result.claim and "higher than" not in result.claim


def test_header_states_profile_hardware_wall_clock_and_runs(suite, capsys):
    md = (suite / "report.md").read_text(encoding="utf-8")
    head = md.split("## Studies")[0]
    assert "Profile: full" in head and "dataset synthetic" in head and "epochs 1" in head
    assert re.search(r"Hardware: .+, 1 thread per run, executor local, precision fp32, torch ", head)
    assert re.search(rf"Wall-clock of this invocation: [^;]+; runs: {RUNS} trained, 0 reused", head)
    record = read_suite(suite / SUITE_FILE)
    assert record.profile == "full" and len(record.invocations) == 1
    assert [s.reference for s in record.studies] == list(QUESTIONS)
    # every study report names its profile in the header and the manifest
    for entry in record.studies:
        study_md = (suite / entry.dir / "report.md").read_text(encoding="utf-8")
        assert "profile full" in study_md.split("## Summary")[0]
        assert "| profile | full |" in study_md and "| test subset | 50 |" in study_md


def test_effective_receptive_field_in_the_studies_that_ask_for_it(suite):
    study = load_results(suite / "studies" / "cifar-kernel-size")
    for model in study.models:
        for run in model.done:
            erf = run.analysis["erf"]
            assert len(erf["map"]) == 28 and len(erf["map"][0]) == 28 and 1 <= erf["side"] <= 55
    md = (suite / "studies" / "cifar-kernel-size" / "report.md").read_text(encoding="utf-8")
    assert "effective_receptive_fields.png" in md and "Theoretical field at the features output" in md
    # a fully connected net has no feature map: no ERF, and the record says why
    fc = next(m for m in load_results(suite / "studies" / "mnist-fc-vs-cnn").models if m.name == "fc")
    assert fc.done[0].analysis["erf"]["map"] is None and "feature maps" in fc.done[0].analysis["erf"]["note"]
    answer_md = sections((suite / "report.md").read_text(encoding="utf-8"))
    text = next(v for k, v in answer_md.items() if k.startswith("2\\.1"))
    assert re.search(r"effective .* vs theoretical: 3x3 \d+ vs \d+ px", text)


def test_second_invocation_reuses_every_run_and_leaves_study_reports_alone(suite, capsys, monkeypatch):
    from cnnlab.cli import main

    monkeypatch.setattr(plots, "DPI", 30)
    runs = mtimes(sorted(suite.glob("runs/*/metrics.jsonl")))
    reports = mtimes(sorted(suite.glob("studies/*/report.*")) + sorted(suite.glob("studies/*/plots/*.png")))
    capsys.readouterr()
    assert main(["run", "all", *map(str, ARGS), "--out", str(suite), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert f"0 runs trained, {RUNS} reused, 0 failed" in out
    assert re.search(r"total wall-clock .+ on .+", out.splitlines()[-1])
    assert mtimes(runs) == runs and mtimes(reports) == reports
    head = (suite / "report.md").read_text(encoding="utf-8").split("## Studies")[0]
    assert f"runs: 0 trained, {RUNS} reused" in head
    assert "2 invocations took" in head and f"trained {RUNS} runs" in head
