"""Getting a trained model back: `StudyResult.model(label, seed)` and `cnnlab.load_model(run_dir)`
on the tiny study trained by the session fixture `tiny_study` (its predictions are checked
against the recorded test accuracy in tests/test_notebook.py)."""

import shutil

import pytest
import torch

import cnnlab
from cnnlab.errors import UserError


def test_model_has_the_checkpoint_weights(tiny_study):
    run = tiny_study.runs.set_index(["label", "seed"]).loc[("Simple CNN", 1)]
    model = tiny_study.model("Simple CNN", seed=1)
    assert isinstance(model, torch.nn.Module) and not model.training
    weights = torch.load(f"{run.run_dir}/checkpoint.pt", weights_only=True)["model"]
    assert weights.keys() == model.state_dict().keys()
    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items())
    by_name = tiny_study.model("simple-cnn", seed=1)  # the model's name works where it is unique
    assert all(torch.equal(a, b) for a, b in zip(by_name.state_dict().values(), model.state_dict().values()))
    other_seed = tiny_study.model("Simple CNN", seed=0)
    assert not torch.equal(other_seed.state_dict()["features.0.weight"], model.state_dict()["features.0.weight"])


def test_unknown_label_or_seed_is_a_user_error(tiny_study):
    with pytest.raises(UserError, match="no model 'CNN' in this study; labels: .*Simple CNN"):
        tiny_study.model("CNN")
    with pytest.raises(UserError, match="no run of 'Simple CNN' with seed 7 in this study; seeds: 0, 1"):
        tiny_study.model("Simple CNN", seed=7)


@pytest.fixture
def study_copy(tiny_study, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(tiny_study.dir.parent.parent, out)
    return cnnlab.load(out / "studies" / tiny_study.dir.name)


def test_unfinished_or_damaged_run_is_a_user_error(study_copy):
    run_dir = study_copy.runs.set_index(["label", "seed"]).loc[("Simple CNN", 0), "run_dir"]
    checkpoint = f"{run_dir}/checkpoint.pt"
    with open(checkpoint, "r+b") as f:
        f.truncate(100)
    with pytest.raises(UserError, match=r"checkpoint.pt: cannot be read \("):
        study_copy.model("Simple CNN")
    (study_copy.dir.parent.parent / "runs" / run_dir.rsplit("/", 1)[1] / "status").unlink()  # as if still training
    with pytest.raises(UserError, match="the run is still running or interrupted, not done"):
        cnnlab.load_model(run_dir)
    with pytest.raises(UserError, match="no run directory"):
        cnnlab.load_model(study_copy.dir / "nowhere")


def test_api_exports_load_model():
    assert "load_model" in cnnlab.__all__ and cnnlab.load_model.__module__ == "cnnlab.store.trained"
