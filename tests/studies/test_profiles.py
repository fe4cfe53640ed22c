"""Profiles: `--profile quick` applies a study's [profiles.quick] table, explicit flags win over
it, and the profile is part of every run key, so quick and full results never mix."""

import pytest
import torch

from cnnlab.data.synthetic import make_synthetic

from cnnlab.choices import PROFILES
from cnnlab.store.rundir import RunDir
from cnnlab.store.schema import RUNS_DIR, STUDY_FILE, read_study
from cnnlab.studies.loader import builtin_names, load_study
from cnnlab.studies.plan import plan_runs
from cnnlab.studies.options import StudyOptions
from cnnlab.studies.policy import requested
from cnnlab.studies.run_all import builtin_suite

from .conftest import study_toml

CPU = torch.device("cpu")


def test_profile_names_are_defined_once():
    assert PROFILES == ("quick", "reference", "full")


def test_every_builtin_study_has_a_reference_profile_at_least_8x_the_quick_training():
    """The reference size (issue 35): all test images, 3+ seeds, at least 8x the quick profile's
    images x epochs per run, the same models and analyses."""
    from cnnlab.data.registry import dataset_entry

    for name in builtin_names():
        quick, reference = (load_study(name).with_profile(p) for p in ("quick", "reference"))
        assert reference.profile == "reference" and reference.models == quick.models
        assert reference.test_subset is None and len(reference.seeds) >= 3

        def images(study):
            return study.subset or dataset_entry(study.dataset).train_size
        assert images(reference) * reference.epochs >= 8 * images(quick) * quick.epochs, name


def test_every_builtin_study_has_a_quick_profile_with_two_seeds_or_more():
    for name in builtin_names():
        full, quick = load_study(name).with_profile("full"), load_study(name).with_profile("quick")
        assert (full.profile, quick.profile) == ("full", "quick")
        assert len(quick.seeds) >= 2 and quick.epochs < full.epochs
        assert quick.subset and quick.test_subset and quick.inference_repeats < full.inference_repeats
        assert quick.models == full.models and quick.analyses == full.analyses  # same comparison, smaller
    mnist = load_study("mnist-fc-vs-cnn").with_profile("quick")
    assert (mnist.dataset, mnist.epochs, mnist.seeds, mnist.subset) == ("mnist-small", 3, tuple(range(6)), 3500)
    assert mnist.train["batch_size"] == 32 and mnist.train["optimizer"] == "adam"  # the rest is the file's


def test_full_is_the_study_file_itself():
    study = load_study("cifar-depth")
    full = study.with_profile("full")
    assert (full.epochs, full.seeds, full.subset, full.test_subset, full.train) == (
        study.epochs, study.seeds, study.subset, study.test_subset, study.train)


def test_explicit_flags_win_over_the_profile():
    study = load_study("mnist-fc-vs-cnn").with_profile("quick").with_overrides(epochs=1, seeds=4, subset=100,
                                                                               test_subset=50, dataset="synthetic")
    assert (study.profile, study.epochs, study.seeds, study.subset, study.test_subset, study.dataset) == (
        "quick", 1, (0, 1, 2, 3), 100, 50, "synthetic")
    suite = builtin_suite(StudyOptions(profile="quick", epochs=2))
    assert [s.reference for s in suite] == ["1.1", "1.2", "2.1", "2.2", "3.1", "3.2"]
    assert all(s.epochs == 2 and s.profile == "quick" for s in suite)


def test_quick_and_full_runs_never_share_a_key(write_study):
    # A quick profile that changes nothing: only the profile tells the runs apart.
    text = study_toml(epochs=1).replace("[[models]]", "[profiles.quick]\nepochs = 1\n\n[[models]]", 1)
    study = load_study(write_study(text))
    full = plan_runs(study.with_profile("full"), CPU, n_train=128, threads=1)
    quick = plan_runs(study.with_profile("quick"), CPU, n_train=128, threads=1)
    assert [s.train for s in full] == [s.train for s in quick]
    assert not {s.key for s in full} & {s.key for s in quick}
    assert {s.profile for s in quick} == {"quick"} and {s.identity()["profile"] for s in full} == {"full"}
    # the test subset is part of the run too
    subset = plan_runs(study.with_profile("full").with_overrides(test_subset=10), CPU, n_train=128, threads=1)
    assert not {s.key for s in full} & {s.key for s in subset}


def test_quick_profile_on_a_study_without_one_is_a_clear_error(write_study, cli, tmp_path):
    code, stdout, stderr = cli("run", write_study(), "--profile", "quick", "--out", tmp_path / "out")
    assert code == 2 and stdout == ""
    assert stderr.startswith("error: ") and "no [profiles.quick] table" in stderr and "full" in stderr
    assert len(stderr.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


def test_quick_profile_on_a_cpu_runs_one_single_threaded_worker_per_core(monkeypatch):
    from cnnlab.studies import policy

    monkeypatch.setattr(policy, "cpu_cores", lambda: 2)
    assert requested("quick", CPU, "local", None, None) == (2, 1)
    assert requested("quick", CPU, "local", 1, None) == (1, None)  # explicit flags win
    # Otherwise the runner's own defaults (None): one worker on a CPU, several runs per GPU.
    assert requested("quick", CPU, "local", None, 2) == (None, 2)
    assert requested("full", CPU, "local", None, None) == (None, None)
    assert requested("quick", CPU, "ray", None, None) == (None, None)
    assert requested("quick", torch.device("cuda"), "local", None, None) == (None, None)
    data = make_synthetic(n_train=10, n_test=10)
    assert policy.parallelism_for("quick", CPU, "local", None, None, data, runs=6) == policy.Parallelism(2, 1, 2)
    assert policy.parallelism_for("full", CPU, "local", None, None, data, runs=6) == policy.Parallelism(1, 2, 1)


QUICK_STUDY = study_toml(models=["fc"], seeds=2, analyses=[]).replace(
    "[[models]]", "[profiles.quick]\nepochs = 1\nseeds = 2\nsubset = 64\n\n[[models]]", 1)


def _metrics_mtimes(out):
    return {p.parent.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*/metrics.jsonl")}


@pytest.mark.slow(seconds=30)
def test_a_study_run_from_the_command_line_is_reused_by_the_api_and_the_other_way_round(write_study, cli, tmp_path,
                                                                                         monkeypatch):
    """Threads per run are part of a run's key and the quick profile changes them on a CPU:
    the policy is the runner's, so `cnnlab run --profile quick` and `cnnlab.run(profile="quick")`
    compute the same keys and neither retrains what the other did."""
    import cnnlab
    from cnnlab.studies import policy

    monkeypatch.setattr(policy, "cpu_cores", lambda: 2)  # the quick policy differs from the default here
    path = write_study(QUICK_STUDY)
    api = {"profile": "quick", "device": "cpu", "report": False, "progress": False}

    out = tmp_path / "cli-first"
    code, stdout, stderr = cli("run", path, "--profile", "quick", "--device", "cpu", "--no-report", "--quiet",
                               "--out", out)
    assert code == 0, stderr
    trained = _metrics_mtimes(out)
    configs = [RunDir(p).load().config for p in (out / RUNS_DIR).iterdir()]
    assert len(trained) == 2 and {c.runtime["threads"] for c in configs} == {1}  # one thread per run
    result = cnnlab.run(path, out, **api)
    assert set(result.runs.run_key) == set(trained) and _metrics_mtimes(out) == trained  # nothing retrained
    assert read_study(result.dir / STUDY_FILE).manifest.runs_cached == 2

    out = tmp_path / "api-first"
    result = cnnlab.run(path, out, **api)
    trained = _metrics_mtimes(out)
    assert set(result.runs.run_key) == set(trained) and len(trained) == 2
    code, stdout, stderr = cli("run", path, "--profile", "quick", "--device", "cpu", "--no-report", "--quiet",
                               "--out", out)
    assert code == 0 and "2 done, 0 diverged, 0 failed (2 cached)" in stdout, stderr
    assert _metrics_mtimes(out) == trained


def test_stand_in_replaces_only_the_named_dataset_and_an_explicit_dataset_wins():
    suite = builtin_suite(StudyOptions(stand_in={"mnist": "mnist-small"}))
    assert {s.name: s.dataset for s in suite} == {s.name: "mnist-small" if s.name == "mnist-fc-vs-cnn" else "cifar10"
                                                 for s in suite}
    study = load_study("mnist-fc-vs-cnn").with_overrides(dataset="synthetic", stand_in={"mnist": "mnist-small"})
    assert study.dataset == "synthetic"


@pytest.mark.slow
def test_stand_in_trains_on_the_new_dataset_and_the_report_says_so(cli, tmp_path):
    out = tmp_path / "out"
    code, stdout, stderr = cli("run", "mnist-fc-vs-cnn", "--stand-in", "mnist=mnist-small", "--epochs", 1,
                               "--seeds", 1, "--subset", 64, "--test-subset", 50, "--analyses", "",
                               "--device", "cpu", "--precision", "fp32", "--out", out, "--quiet")
    assert code == 0, stderr
    study = out / "studies" / "mnist-fc-vs-cnn"
    assert read_study(study / STUDY_FILE).dataset == "mnist-small"
    configs = [RunDir(p).load().config for p in (out / RUNS_DIR).iterdir()]
    assert len(configs) == 3 and {c.dataset for c in configs} == {"mnist-small"}
    assert "dataset differs: theirs mnist, ours mnist-small" in (study / "report.md").read_text()
