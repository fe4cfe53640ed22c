"""`cnnlab run STUDY --until-decided`: seeds go only to the models of open comparisons, the looks
are tested group-sequentially, an A/A pair never comes out "better", the stop is recorded and
a second call continues from the cache (issue 28)."""

import json

import pytest

from cnnlab.studies.option_names import PYTHON

import cnnlab
from cnnlab.cli import main
from cnnlab.errors import UserError
from cnnlab.report.answers import answers
from cnnlab.results import load_results
from cnnlab.store.schema import STUDY_FILE, read_study
from cnnlab.studies.loader import load_study
from cnnlab.studies.until_decided import UntilDecided, next_step, open_comparisons, until_decided_options
from tests.studies.test_aa_study import AA_STUDY, ARGS

# The A/A pair, and a third model that differs from both by much: its pairs decide at once.
STUDY = AA_STUDY.replace('[[questions]]\ntitle = "A/A"\nkind = "pair"\na = "FC"\nb = "FC again"\n', """\
[[models]]
name = "simple-cnn"
label = "CNN"

[[questions]]
title = "All"
kind = "best"
models = ["FC", "FC again", "CNN"]
""").replace("seeds = 5", "seeds = 3")


@pytest.fixture(scope="module")
def decided(tmp_path_factory):
    root = tmp_path_factory.mktemp("until")
    study = root / "aa.toml"
    study.write_text(STUDY, encoding="utf-8")
    out = root / "out"
    assert main(["run", str(study), "--out", str(out), "--until-decided", "--max-seeds", "12",
                 *[a for a in ARGS if a != "--no-report"]]) == 0
    return study, out, out / "studies" / "aa"


@pytest.mark.slow
def test_seeds_go_only_where_a_comparison_is_open_and_the_aa_pair_is_never_better(decided):
    _, _, directory = decided
    info = read_study(directory / STUDY_FILE)
    results = load_results(directory)
    seeds = {m.label: len(m.seeds()) for m in results.models}
    assert info.looks[0] == 3 and len(info.looks) >= 2 and max(seeds.values()) == info.looks[-1] <= 12
    comparisons = {frozenset((c.a.label, c.b.label)): c for a in answers(results) for c in a.comparisons}
    aa = comparisons[frozenset(("FC", "FC again"))]
    assert aa.verdict != "better" and not aa.paired  # other seeds: Welch's test
    assert aa.looks == len(info.looks) and aa.look_seeds[0] == (3, 3)
    for label in ("FC", "FC again"):
        cnn = comparisons[frozenset((label, "CNN"))]
        assert cnn.verdict == "better" and cnn.a.label == "CNN"
        assert cnn.diff.ci_low > 0 and cnn.diff.n_a == cnn.look_seeds[cnn.look - 1][0]  # the deciding look's numbers
    # Seeds went only where a comparison was open after the first look: a model whose pairs were all
    # settled there stopped at the first look's seeds.
    open_after_first = {m.label for c in comparisons.values() if c.verdict not in ("better", "equivalent") or c.look > 1
                        for m in (c.a, c.b)}
    for label, n in seeds.items():
        assert n == (info.looks[-1] if label in open_after_first else info.looks[0]), (label, n)
    assert info.until_decided["stopped"] in ("decided", "beyond", "max_seeds")
    report = (directory / "report.md").read_text(encoding="utf-8")
    assert "Seeds were added until decided" in report and "| CNN | FC again | test accuracy | 3" in report
    assert "better | decided at look 1 |" in report


@pytest.mark.slow
def test_running_it_again_continues_from_the_cache(decided, capsys):
    study, out, directory = decided
    before = read_study(directory / STUDY_FILE)
    capsys.readouterr()
    assert main(["run", str(study), "--out", str(out), "--until-decided", "--max-seeds", "12", *ARGS]) == 0
    printed = capsys.readouterr().out
    assert "cached) in" in printed and " 0 failed (" in printed
    after = read_study(directory / STUDY_FILE)
    assert after.looks == before.looks and after.runs == before.runs
    assert after.manifest.runs_trained == 0


@pytest.mark.slow
def test_a_budget_too_small_for_the_next_look_stops_before_it(decided):
    study, _, directory = decided
    results = load_results(directory)
    grown = load_study(str(study))
    counts = {m.label: len(m.seeds()) for m in results.models}
    import dataclasses

    grown = dataclasses.replace(grown, models=tuple(dataclasses.replace(m, seed_count=counts[m.label])
                                                    for m in grown.models))
    _, open_, _ = open_comparisons(directory)
    pursuable = [c for c in open_ if c.needed and c.needed.n and c.needed.n <= 12]
    step, reason = next_step(grown, directory, UntilDecided(max_seeds=12), seconds_left=1e-6, cost_ratio=1.0)
    assert step is None
    if pursuable:  # an open pair the plan could decide: no look fits in a microsecond
        assert reason == "budget"
    step, reason = next_step(grown, directory, UntilDecided(max_seeds=12), seconds_left=None, cost_ratio=1.0)
    assert (step is not None) == bool(pursuable) and reason in ("", "decided", "beyond", "max_seeds")


@pytest.mark.parametrize("argv, message", [
    (["--max-seeds", "5"], "--max-seeds only applies with --until-decided"),
    (["--budget", "30m"], "--budget only applies with --until-decided"),
    (["--until-decided", "--budget", "soon"], "--budget must be a duration such as 90s, 30m, 2h or 1h30m"),
    (["--until-decided", "--max-seeds", "1"], "--max-seeds must be a whole number of seeds per model in [2, "),
    (["--until-decided", "--tune"], "--until-decided does not combine with --tune yet"),
])
def test_bad_until_decided_options_are_one_line_errors(argv, message, tmp_path, capsys):
    assert main(["run", "mnist-fc-vs-cnn", "--out", str(tmp_path / "out"), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_the_python_api_checks_the_same_options(tmp_path):
    with pytest.raises(UserError, match=r"only applies with until_decided=True \(max_seeds=\)"):
        cnnlab.run("mnist-fc-vs-cnn", tmp_path / "out", max_seeds=5)
    with pytest.raises(UserError, match=r"must be a duration .* \(or seconds\), got 'x' \(budget=\)"):
        cnnlab.run("mnist-fc-vs-cnn", tmp_path / "out", until_decided=True, budget="x")
    assert until_decided_options(True, None, 90).budget_seconds == 90.0
    assert until_decided_options(True, 6, "1h30m") == UntilDecided(max_seeds=6, budget_seconds=5400.0)
    assert not (tmp_path / "out").exists()
    assert json.dumps(UntilDecided().__dict__)  # plain numbers: what study.json records


@pytest.mark.slow
def test_cnnlab_run_until_decided_replays_the_same_looks_from_the_cache(decided):
    study, out, directory = decided
    before = read_study(directory / STUDY_FILE)
    result = cnnlab.run(str(study), out, until_decided=True, max_seeds=12, device="cpu", workers=1, cpus_per_run=1,
                        report=False, progress=False)
    after = read_study(directory / STUDY_FILE)
    assert result.dir == directory and len(result.results.models) == 3
    assert after.looks == before.looks and after.runs == before.runs and after.manifest.runs_trained == 0
    assert after.until_decided["stopped"] == before.until_decided["stopped"]
    assert "--until-decided --max-seeds 12" in after.manifest.command


def test_the_plan_is_fixed_before_the_first_look_whatever_the_budget():
    """The verdicts spend their level by the plan, so it must be known before anything is seen: a
    budget alone plans for the default 20 seeds per model and may stop earlier."""
    assert until_decided_options(True, None, "30m") == UntilDecided(max_seeds=20, budget_seconds=1800.0)
    assert until_decided_options(True, None, None) == UntilDecided(max_seeds=20, budget_seconds=None)
    with pytest.raises(UserError, match="must be True or False, got 'no'"):
        until_decided_options("no", None, None, PYTHON)


# --- what a new user hit, round 5 (issue 40) ---------------------------------------------------------------

def _run(tmp_path, text, *argv):
    study = tmp_path / "s.toml"
    study.write_text(text, encoding="utf-8")
    return main(["run", str(study), "--out", str(tmp_path / "out"), *argv, *ARGS]), tmp_path / "out" / "studies" / "aa"


def test_seeds_the_looks_would_reach_are_checked_before_the_first_look(tmp_path, capsys):
    """Before: seeds near 2^31 - 1 passed the check and --until-decided died at look 2, and an A/A
    seed_offset that --max-seeds makes overlap died at look 2, both after training the first."""
    high = STUDY.replace("seeds = 3", "seeds = [2147483640, 2147483641, 2147483642]")
    code, directory = _run(tmp_path, high, "--until-decided", "--max-seeds", "12")
    assert code == 2 and not directory.exists()
    assert "beyond the largest seed (2,147,483,647)" in capsys.readouterr().err
    code, directory = _run(tmp_path, STUDY, "--until-decided", "--max-seeds", "200")  # offset 100: overlaps
    assert code == 2 and not directory.exists()
    assert "FC and FC again (the same model) the same seeds 100" in capsys.readouterr().err


@pytest.mark.slow
def test_a_study_without_questions_says_why_nothing_was_added(tmp_path, capsys):
    """Before: --until-decided on a study without questions trained the first look and said nothing."""
    bare = STUDY.split("[[questions]]")[0]
    code, directory = _run(tmp_path, bare, "--until-decided", "--max-seeds", "6")
    assert code == 0
    assert "stopped adding seeds: its questions make no comparison" in capsys.readouterr().out
    assert read_study(directory / STUDY_FILE).until_decided["stopped"] == "nothing"


@pytest.mark.slow
def test_one_seed_is_not_a_reason_to_stop(tmp_path, capsys):
    """Before: --seeds 1 --until-decided stopped at once, recording "would need more than N seeds";
    at one seed nothing can be tested, so the looks go on (rough estimates are not stopped on)."""
    code, directory = _run(tmp_path, STUDY, "--seeds", "1", "--until-decided", "--max-seeds", "4")
    assert code == 0
    info = read_study(directory / STUDY_FILE)
    assert info.looks[0] == 1 and len(info.looks) >= 2 and info.plan_seeds == 4


@pytest.mark.slow
def test_a_study_run_once_is_not_continued_by_until_decided(tmp_path, capsys):
    """Its one look spent the level: --until-decided says so instead of training seeds that cannot
    change a verdict."""
    assert _run(tmp_path, STUDY, "--seeds", "2")[0] == 0
    code, directory = _run(tmp_path, STUDY, "--seeds", "2", "--until-decided", "--max-seeds", "8")
    assert code == 0
    assert "first run without --until-decided" in capsys.readouterr().out
    info = read_study(directory / STUDY_FILE)
    assert info.looks == (2,) and info.plan_seeds == 2 and info.until_decided["stopped"] == "plan"
