"""The [tune] table of a study file and --tune / tune=: the grid every model searches, checked when
the study is loaded or sized, before anything trains."""

import pytest

import cnnlab
from cnnlab.errors import UserError
from cnnlab.studies.loader import load_study, parse_study
from cnnlab.studies.option_names import PYTHON
from cnnlab.studies.options import StudyOptions, sized_study
from cnnlab.studies.tune_spec import resolve_tune

from .conftest import study_toml

GOOD = study_toml(extra="[tune]\nseeds = 2\n")

MALFORMED = {
    "non-positive lr": ("lr = [0.001, 0]", "tune.lr[1]", "(0, 10]"),
    "empty grid": ("lr = []", "tune.lr", "empty"),
    "lr not a list": ("lr = 0.01", "tune.lr", "list of numbers"),
    "lr twice": ("lr = [0.01, 0.01]", "tune.lr", "twice"),
    "infinite lr": ("lr = [inf]", "tune.lr[0]", "(0, 10]"),
    "unknown key": ("learning_rate = [0.1]", "tune.learning_rate", "unknown key"),
    "lr and points": ("lr = [0.01]\npoints = 3", "tune.lr", "either lr"),
    "zero points": ("points = 0", "tune.points", "integer in [1"),
    "negative weight decay": ("weight_decay = [-0.1]", "tune.weight_decay[0]", "[0, 10]"),
    "zero tuning seeds": ("seeds = 0", "tune.seeds", "integer in [1"),
    "tuning seed repeated": ("seeds = [5, 5]", "tune.seeds", "repeated"),
    "tuning seed is an evaluation seed": ("seeds = [1, 1000]", "tune.seeds", "both a tuning seed and an evaluation seed"),
    "validation of everything": ("validation = 1.0", "tune.validation", "(0, 0.5]"),
    "zero epochs": ("epochs = 0", "tune.epochs", "integer in [1"),
    "span past the lr bound": ("span = 4\n[train]\nlr = 0.01", "tune.span", "above the largest learning rate"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_tune_table_exits_2_with_one_line_and_writes_nothing(case, write_study, cli, tmp_path):
    table, key, reason = MALFORMED[case]
    tune, _, train = table.partition("\n[train]\n")
    text = study_toml(extra=f"[tune]\n{tune}\n")
    path = write_study(text.replace("batch_size = 32", f"batch_size = 32\n{train}") if train else text)
    out = tmp_path / "out"
    code, stdout, stderr = cli("run", path, "--out", out, "--tune")
    lines = stderr.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert str(path) in lines[0] and f"'{key}'" in lines[0] and reason in lines[0], lines[0]
    assert not out.exists() and stdout == ""


def test_a_malformed_tune_table_fails_without_tune_too(write_study, cli, tmp_path):
    path = write_study(study_toml(extra="[tune]\nlr = [-1]\n"))
    code, _, stderr = cli("run", path, "--out", tmp_path / "out")
    assert code == 2 and "tune.lr[0]" in stderr


def test_the_default_grid_is_five_log_spaced_points_around_the_study_lr(write_study):
    study = load_study(write_study(study_toml().replace("batch_size = 32", "batch_size = 32\nlr = 0.003")))
    tune = resolve_tune(sized_study(study, StudyOptions(tune=True)))
    assert tune.grid == {"lr": (0.0003, 0.000949, 0.003, 0.00949, 0.03)}
    assert tune.seeds == (1000, 1001) and tune.epochs == study.epochs and tune.validation == 0.1
    assert len(tune.settings()) == 5 and tune.runs_per_model == 10


def test_an_explicit_grid_with_weight_decay_is_every_combination(write_study):
    path = write_study(study_toml(seeds=3, extra="[tune]\nlr = [0.01, 0.001]\nweight_decay = [0.0, 0.05]\n"
                                                 "seeds = [7, 9]\nepochs = 4\nvalidation = 0.2\n"))
    tune = resolve_tune(sized_study(load_study(path), StudyOptions(tune=True)))
    assert tune.grid == {"lr": (0.001, 0.01), "weight_decay": (0.0, 0.05)}  # ascending
    assert tune.settings() == [{"lr": 0.001, "weight_decay": 0.0}, {"lr": 0.001, "weight_decay": 0.05},
                               {"lr": 0.01, "weight_decay": 0.0}, {"lr": 0.01, "weight_decay": 0.05}]
    assert (tune.seeds, tune.epochs, tune.validation) == ((7, 9), 4, 0.2)


def test_weight_decay_is_not_searched_over_a_models_own(write_study):
    text = study_toml(extra="[tune]\nweight_decay = [0.0, 0.01]\n").replace(
        'name = "fc"\n', 'name = "fc"\ntrain = { weight_decay = 0.05 }\n')
    with pytest.raises(UserError, match=r"key 'tune.weight_decay': models\[0\] \(fc\) set their own weight_decay"):
        load_study(write_study(text))


def test_the_quick_profile_sizes_the_tuning_and_a_grid_replaces_the_other_kind(write_study):
    text = study_toml(extra="[tune]\nlr = [0.1, 0.01]\nseeds = 3\n").replace(
        "[[models]]", "[profiles.quick]\nepochs = 1\ntune = { points = 3, epochs = 2 }\n\n[[models]]", 1)
    study = load_study(write_study(text))
    full = resolve_tune(sized_study(study, StudyOptions(tune=True)))
    quick = resolve_tune(sized_study(study, StudyOptions(profile="quick", tune=True)))
    assert full.grid == {"lr": (0.01, 0.1)} and full.seeds == (1000, 1001, 1002) and full.epochs == 1
    assert quick.grid == {"lr": (0.0001, 0.001, 0.01)} and quick.seeds == (1000, 1001, 1002) and quick.epochs == 2


def test_a_bad_profile_tune_names_its_key(write_study):
    text = study_toml().replace("[[models]]", "[profiles.quick]\ntune = { lr = [0] }\n\n[[models]]", 1)
    with pytest.raises(UserError, match=r"key 'profiles.quick.tune.lr\[0\]'"):
        load_study(write_study(text))


def test_tune_puts_the_study_in_its_own_folder_and_a_study_without_tune_gets_the_defaults(write_study):
    study = load_study(write_study(study_toml(name="plain")))
    assert study.tune_table == {} and not study.tuned and study.folder == "plain" and study.tune_run_count == 0
    tuned = sized_study(study, StudyOptions(tune=True))
    assert tuned.tuned and tuned.folder == "plain-tuned" and tuned.name == "plain"
    assert tuned.tune_run_count == 2 * 5 * 2  # models x default points x default tuning seeds
    assert tuned.run_count == study.run_count  # the evaluation runs: the same as at shared settings


def test_evaluation_seeds_given_later_must_still_differ_from_the_tuning_seeds(write_study):
    study = load_study(write_study(study_toml(extra="[tune]\nseeds = [3]\n")))
    with pytest.raises(UserError, match="seed 3 is both a tuning seed and an evaluation seed"):
        sized_study(study, StudyOptions(tune=True, seeds=5))
    assert sized_study(study, StudyOptions(seeds=5)).seeds == (0, 1, 2, 3, 4)  # no tuning: no conflict


def test_a_seed_offset_that_lands_on_the_tuning_seeds_is_refused(write_study):
    """Before: a model with seed_offset = 1000 was evaluated on the tuning seeds 1000 and 1001
    under --tune, though tuning seeds are never evaluation seeds."""
    text = study_toml().replace("[[models]]", "[[models]]", 1)
    text = text.rstrip() + '\n\n[[models]]\nname = "fc"\nlabel = "FC again"\nseed_offset = 1000\n'
    study = load_study(write_study(text))
    with pytest.raises(UserError, match="seed 1000 is both a tuning seed and an evaluation seed of FC again"):
        sized_study(study, StudyOptions(tune=True))


def test_tune_must_be_a_boolean_in_python(write_study, tmp_path):
    with pytest.raises(UserError, match=r"expected true or false, got a string 'yes' \(tune=\)"):
        cnnlab.run(write_study(), out=tmp_path / "out", tune="yes")
    assert not (tmp_path / "out").exists()


def test_parse_study_keeps_the_table_as_plain_values():
    raw = {"name": "s", "dataset": "synthetic", "epochs": 1, "models": [{"name": "fc"}],
           "tune": {"lr": [0.1, 0.01], "seeds": 2}}
    study = parse_study(raw, "s.toml")
    assert study.tune_table == {"lr": (0.01, 0.1), "seeds": 2}
    with pytest.raises(UserError, match="tune="):
        sized_study(study, StudyOptions(tune=1), PYTHON)


def test_every_builtin_quick_profile_sizes_a_tuning_no_costlier_than_its_evaluation_runs():
    """The quick suite with --tune must stay within an hour on a 2-core CPU: per model, the tuning
    runs may train at most about as many images as the evaluation runs (tuning runs skip the analyses)."""
    from cnnlab.studies.loader import builtin_names

    for name in builtin_names():
        study = sized_study(load_study(name), StudyOptions(profile="quick", tune=True))
        tune = resolve_tune(study)
        assert len(tune.grid["lr"]) == 3 and len(tune.seeds) == 2 and tune.epochs < study.epochs, name
        assert study.train.get("lr", 1e-3) in tune.grid["lr"]  # the shared lr is a point: its runs can be reused
        tuning = tune.runs_per_model * tune.epochs * (1 - tune.validation)
        assert tuning <= 1.25 * len(study.seeds) * study.epochs, name
