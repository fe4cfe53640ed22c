"""An A/A study: the same model twice, the second arm on seeds disjoint from the first
(`seed_offset` in its [[models]] table), trained for real. No difference exists, so the
verdict must never be "better" (issue 28); the two arms are distinct runs, not one run seen twice."""

import pytest

from cnnlab.cli import main
from cnnlab.report.answers import answers
from cnnlab.results import load_results

AA_STUDY = """\
name = "aa"
dataset = "synthetic"
subset = 256
test_subset = 256
epochs = 2
seeds = 5
analyses = []

[train]
batch_size = 32
precision = "fp32"

[[models]]
name = "fc"
label = "FC"
kwargs = { hidden = [16] }

[[models]]
name = "fc"
label = "FC again"
kwargs = { hidden = [16] }
seed_offset = 100

[[questions]]
title = "A/A"
kind = "pair"
a = "FC"
b = "FC again"
"""

ARGS = ("--device", "cpu", "--workers", "1", "--cpus-per-run", "1", "--quiet", "--no-report")


@pytest.mark.slow
def test_a_model_against_itself_on_other_seeds_is_never_better(tmp_path):
    study = tmp_path / "aa.toml"
    study.write_text(AA_STUDY, encoding="utf-8")
    assert main(["run", str(study), "--out", str(tmp_path / "out"), *ARGS]) == 0
    results = load_results(tmp_path / "out" / "studies" / "aa")
    by_label = {m.label: m for m in results.models}
    assert [r.seed for r in by_label["FC"].runs] == [0, 1, 2, 3, 4]
    assert [r.seed for r in by_label["FC again"].runs] == [100, 101, 102, 103, 104]
    assert {r.key for r in by_label["FC"].runs}.isdisjoint(r.key for r in by_label["FC again"].runs)
    assert by_label["FC"].values("test_acc") != by_label["FC again"].values("test_acc")  # really other runs
    (answer,) = answers(results)
    (c,) = answer.comparisons
    assert c.verdict in ("inconclusive", "equivalent"), answer.evidence
    assert c.diff.ci_low < 0 < c.diff.ci_high  # the interval holds the true difference, zero


def test_the_same_model_twice_without_an_offset_is_refused_with_the_way_out(tmp_path, capsys):
    study = tmp_path / "aa.toml"
    study.write_text(AA_STUDY.replace("seed_offset = 100\n", ""), encoding="utf-8")
    assert main(["run", str(study), "--out", str(tmp_path / "out"), *ARGS]) == 2
    err = capsys.readouterr().err
    assert "the two would be one run" in err and "seed_offset" in err and len(err.strip().splitlines()) == 1
