"""A bad study file is rejected before any training: exit 2, one line naming file, key and
reason, and no output directory."""

import pytest

from .conftest import study_toml

GOOD = study_toml()

CASES = {
    "bad TOML": (GOOD.replace('dataset = "synthetic"', 'dataset = "synthetic'), "invalid TOML", None),
    "unknown key": (GOOD.replace("epochs = 1", "epochs = 1\nlearning_rate = 0.1"), "learning_rate", "unknown key"),
    "unknown model": (GOOD.replace('name = "fc"', 'name = "no-such-net"'), "models[0].name", "simple-cnn"),
    "wrong type": (GOOD.replace("epochs = 1", 'epochs = "ten"'), "'epochs'", "positive integer"),
    "empty model list": ("models = []\n" + GOOD.split("[[models]]")[0], "'models'", "empty"),
    "no models at all": (GOOD.split("[[models]]")[0], "'models'", "missing"),
    "unknown train option": (GOOD.replace("batch_size = 32", "batch_sise = 32"), "train.batch_sise", "batch_size"),
    "bad train value": (GOOD.replace('precision = "fp32"', 'precision = "fp8"'), "train.precision", "fp32"),
    "train type": (GOOD.replace("batch_size = 32", "batch_size = 3.5"), "train.batch_size", "integer"),
    "epochs in train": (GOOD.replace("batch_size = 32", "epochs = 3"), "train.epochs", "top-level"),
    "model key": (GOOD.replace('name = "fc"', 'name = "fc"\nwidth = 3'), "models[0].width", "unknown key"),
    "model kwarg": (GOOD.replace('name = "fc"', 'name = "fc"\nkwargs = { widht = 3 }'), "models[0].kwargs.widht",
                    "hidden"),
    "non-regularisation override": (GOOD.replace('name = "fc"', 'name = "fc"\ntrain = { lr = 0.1 }'),
                                    "models[0].train.lr", "regularisation"),
    "unknown analysis": (GOOD.replace('"confusion"', '"confusoin"'), "analyses[0]", "grad_flow"),
    "unknown dataset": (GOOD.replace('"synthetic"', '"imagenet"'), "'dataset'", "mnist-small"),
    "zero seeds": (GOOD.replace("seeds = 2", "seeds = 0"), "'seeds'", "positive"),
    "duplicate label": (GOOD.replace('name = "simple-cnn"', 'name = "fc"'), "models[1].label", "unique"),
    "unknown profile": (GOOD.replace("[[models]]", "[profiles.fast]\nepochs = 1\n\n[[models]]", 1), "profiles.fast",
                        "quick"),
    "full profile table": (GOOD.replace("[[models]]", "[profiles.full]\nepochs = 1\n\n[[models]]", 1),
                           "profiles.full", "top level"),
    "profile changes a model": (GOOD.replace("[[models]]", "[profiles.quick]\nmodels = []\n\n[[models]]", 1),
                                "profiles.quick.models", "epochs"),
    "profile with one seed": (GOOD.replace("[[models]]", "[profiles.quick]\nseeds = 1\n\n[[models]]", 1),
                              "profiles.quick.seeds", "at least 2 seeds"),
    "profile train value": (GOOD.replace("[[models]]", "[profiles.quick]\ntrain = { batch_size = 0 }\n\n[[models]]", 1),
                            "profiles.quick.train.batch_size", "batch_size"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_study_exits_2_and_writes_nothing(case, write_study, cli, tmp_path):
    text, key, reason = CASES[case]
    path = write_study(text)
    out = tmp_path / "out"
    code, stdout, stderr = cli("run", path, "--out", out)
    assert code == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert str(path) in lines[0]
    if key:
        assert key in lines[0]
    if reason:
        assert reason in lines[0]
    assert not out.exists()
    assert stdout == ""


def test_model_that_cannot_be_built(write_study, cli, tmp_path):
    """Every model is built once before any training: a bad argument value fails there."""
    text = GOOD.replace('name = "simple-cnn"', 'name = "fc"\nlabel = "FC"\nkwargs = { hidden = -5 }')
    code, _, stderr = cli("run", write_study(text), "--out", tmp_path / "out")
    assert code == 2 and "models[1]" in stderr and len(stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_missing_file_and_unknown_study(cli, tmp_path):
    code, _, stderr = cli("run", tmp_path / "nope.toml", "--out", tmp_path / "out")
    assert code == 2 and "nope.toml" in stderr and "not found" in stderr
    code, _, stderr = cli("run", "no-such-study", "--out", tmp_path / "out")
    assert code == 2 and "mnist-fc-vs-cnn" in stderr
    assert not (tmp_path / "out").exists()
