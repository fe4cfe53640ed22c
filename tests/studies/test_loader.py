import pytest
import torch

from cnnlab.errors import UserError
from cnnlab.models import list_models
from cnnlab import settings
from cnnlab.studies.loader import builtin_names, load_study
from cnnlab.studies.plan import plan_runs
from cnnlab.train.config import TrainConfig

# PRODUCT.md's six experiments and the models each compares.
BUILTIN = {
    "mnist-fc-vs-cnn": ("1.1", "mnist", ["fc", "simple-cnn", "residual-cnn"]),
    "cifar-fc-vs-cnn": ("1.2", "cifar10", ["fc-deep", "residual-cnn", "residual-cnn-reg"]),
    "cifar-kernel-size": ("2.1", "cifar10", ["kernel-3x3", "kernel-5x5", "kernel-7x7", "kernel-1x1-3x3"]),
    "cifar-depth": ("2.2", "cifar10", ["depth-2", "depth-4", "depth-6", "depth-12", "depth-12-residual"]),
    "cifar-custom-layers": ("3.1", "cifar10", ["cnn-baseline", "cnn-custom-conv", "cnn-se", "cnn-cbam",
                                                "cnn-swish", "cnn-custom-act", "cnn-lppool", "cnn-avgpool"]),
    "cifar-residual-blocks": ("3.2", "cifar10", ["resnet-basic", "resnet-bottleneck", "resnet-wide"]),
}


def test_six_builtin_studies_load_with_their_models():
    assert sorted(builtin_names()) == sorted(BUILTIN)
    for name, (reference, dataset, models) in BUILTIN.items():
        study = load_study(name)
        assert (study.name, study.reference, study.dataset) == (name, reference, dataset)
        assert [m.name for m in study.models] == models
        assert len(study.seeds) >= 3 and study.epochs >= 10, "defaults are what a GPU user would run"
        assert set(m.name for m in study.models) <= set(list_models())


def test_builtin_studies_share_training_settings_except_regularisation():
    for name in BUILTIN:
        for model in load_study(name).models:
            assert set(model.train) <= set(settings.names_in(settings.MODEL_TABLE))
    reg = [m for m in load_study("cifar-fc-vs-cnn").models if m.name == "residual-cnn-reg"][0]
    assert reg.train.get("augment") is True and reg.train.get("weight_decay", 0) > 0


def test_seeds_count_and_list(write_study):
    assert load_study(write_study(seeds=3)).seeds == (0, 1, 2)
    text = write_study().read_text().replace("seeds = 2", "seeds = [4, 7]")
    assert load_study(write_study(text)).seeds == (4, 7)


def test_overrides_reach_every_run():
    study = load_study("mnist-fc-vs-cnn").with_overrides(epochs=1, seeds=2, dataset="synthetic", subset=64)
    specs = plan_runs(study, torch.device("cpu"), n_train=64, threads=1)
    assert len(specs) == 3 * 2
    assert {s.seed for s in specs} == {0, 1}
    for s in specs:
        assert (s.dataset, s.subset, s.train["epochs"], s.train["seed"]) == ("synthetic", 64, 1, s.seed)
        assert s.train["precision"] in ("fp32", "bf16")  # "auto" is resolved before hashing
        TrainConfig.from_dict(s.train)  # checks every value
    assert len({s.key for s in specs}) == 6


def test_run_key_follows_config_code_and_runtime_not_label(write_study, monkeypatch):
    from cnnlab.studies import plan

    cpu = torch.device("cpu")
    base = plan_runs(load_study(write_study()), cpu, 128, threads=1)
    relabelled = write_study().read_text().replace('name = "fc"\n', 'name = "fc"\nlabel = "FC net"\n')
    assert [s.key for s in plan_runs(load_study(write_study(relabelled)), cpu, 128, 1)] == [s.key for s in base]
    longer = plan_runs(load_study(write_study()).with_overrides(epochs=2), cpu, 128, 1)
    assert not {s.key for s in longer} & {s.key for s in base}
    # Float sums split over another number of threads round differently: another run.
    two_threads = plan_runs(load_study(write_study()), cpu, 128, threads=2)
    assert not {s.key for s in two_threads} & {s.key for s in base}
    monkeypatch.setattr(plan, "code_fingerprint", lambda analyses=(), model_source=None: "f" * 16)  # other code, same settings
    assert not {s.key for s in plan_runs(load_study(write_study()), cpu, 128, 1)} & {s.key for s in base}


def test_analyses_switch_on_what_they_need(write_study):
    spec = plan_runs(load_study(write_study(analyses=["grad_flow", "stability"])), torch.device("cpu"), 128, 1)[0]
    assert spec.train["grad_flow_every"] >= 1 and spec.train["log_steps"] is True
    spec = plan_runs(load_study(write_study(analyses=[])), torch.device("cpu"), 128, 1)[0]
    assert spec.train["grad_flow_every"] == 0 and spec.train["log_steps"] is False


def test_unknown_builtin_names_the_valid_ones():
    with pytest.raises(UserError, match="mnist-fc-vs-cnn"):
        load_study("no-such-study")


@pytest.mark.parametrize("overrides,cli,python", [
    ({"test_subset": 0}, "key '--test-subset': must be a positive integer up to 1,000,000,000, got 0",
     "must be a positive integer up to 1,000,000,000, got 0 (test_subset=)"),
    ({"analyses": ["confusion", "confusoin"]}, "key '--analyses[1]': unknown analysis 'confusoin'; valid: ",
     "unknown analysis 'confusoin' (analyses=); valid: "),
    ({"stand_in": {"mnist": "imagenet"}}, "key '--stand-in': unknown dataset 'imagenet'; valid datasets: ",
     "unknown dataset 'imagenet' (stand_in=); valid datasets: "),
    ({"train": {"precision": "fp8"}}, "key '--precision': unknown precision 'fp8'; valid: ",
     "unknown precision 'fp8' (precision=); valid: "),
    ({"train": {"grad_clip": -1}}, "key '--grad-clip': must be a number in [0, 1,000,000], got -1",
     "must be a number in [0, 1,000,000], got -1 (grad_clip=)"),
    ({"train": {"cuda_graphs": "no"}}, "key '--no-graphs': expected true or false, got a string 'no'",
     "expected true or false, got a string 'no' (cuda_graphs=)"),
])
def test_an_override_error_names_the_option_as_the_caller_wrote_it(overrides, cli, python):
    from cnnlab.studies.option_names import PYTHON

    study = load_study("mnist-fc-vs-cnn")
    with pytest.raises(UserError) as caught:
        study.with_overrides(**overrides)  # the command line's names by default
    assert str(caught.value).startswith(f"{study.source}: {cli}")
    with pytest.raises(UserError) as caught:
        study.with_overrides(**overrides, names=PYTHON)
    assert str(caught.value).startswith(python)
