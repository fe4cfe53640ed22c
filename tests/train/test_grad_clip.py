"""Gradient clipping (`grad_clip`, cnnlab.settings): the step scales the global gradient norm down
to the limit before the optimizer sees it, a limit never reached changes nothing, 0 is off, a deep
plain net still learns with it, and a study carries it into every run's settings and key."""

import copy

import pytest
import torch

from cnnlab.data.synthetic import make_synthetic
from cnnlab.models import create_model
from cnnlab.train import Inputs, TrainConfig, make_optimizer, train, train_step
from cnnlab.train.precision import FP32


@pytest.fixture(scope="module")
def data():
    return make_synthetic(n_train=256, n_test=128)


def _global_norm(model) -> float:
    return float(torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in model.parameters()])))


def _one_sgd_step(data, grad_clip: float, lr: float = 0.5):
    torch.manual_seed(0)
    model = create_model("fc", data.in_shape, data.num_classes)
    config = TrainConfig(optimizer="sgd", momentum=0.0, lr=lr, grad_clip=grad_clip, precision="fp32")
    before = copy.deepcopy(model)
    raw = []
    x, y = data.train_images[:64], data.train_labels[:64]
    inputs = Inputs(data, FP32, "cpu", config)
    train_step(model, make_optimizer(model, config), inputs(x), y, inputs, config,
               after_backward=lambda: raw.append(_global_norm(model)))
    return before, model, raw[0]


def test_the_step_moves_by_the_clipped_gradient(data):
    free_before, free, raw = _one_sgd_step(data, grad_clip=0.0)
    limit = raw / 4
    _, clipped, raw_again = _one_sgd_step(data, grad_clip=limit)
    assert raw_again == pytest.approx(raw)  # after_backward saw the gradient before clipping
    assert _global_norm(clipped) == pytest.approx(limit, rel=1e-4)  # what the optimizer used
    for p0, p_free, p_clip in zip(free_before.parameters(), free.parameters(), clipped.parameters()):
        # plain SGD: the clipped step is the free step scaled by limit / raw
        torch.testing.assert_close(p_clip - p0, (p_free - p0) * (limit / raw), rtol=1e-3, atol=1e-7)


def test_a_limit_above_the_norm_changes_nothing(data):
    _, free, raw = _one_sgd_step(data, grad_clip=0.0)
    _, loose, _ = _one_sgd_step(data, grad_clip=raw * 10)
    for a, b in zip(free.parameters(), loose.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


LEARNED = ("train_loss", "train_acc", "test_loss", "test_acc")


def _learned(history) -> list:
    return [[row[k] for k in LEARNED] for row in history.epochs] + [history.steps["loss"]]


def _fit(data, **settings):
    torch.manual_seed(0)
    net = create_model("fc-deep", data.in_shape, data.num_classes)
    config = TrainConfig(epochs=3, batch_size=32, lr=3e-3, precision="fp32", log_steps=True, **settings)
    return train(net, data, config, device="cpu", verbosity="none")


def test_training_with_a_limit_learns_and_differs_only_when_it_bites(data):
    off, never = _fit(data), _fit(data, grad_clip=1e6)
    assert _learned(never) == _learned(off)  # set but never reached: the same numbers
    clipped = _fit(data, grad_clip=0.05)
    assert clipped.status == "done" and _learned(clipped) != _learned(off)
    assert clipped.final["test_acc"] > 0.5  # a deep plain net still learns (10 classes: chance is 0.1)
    assert max(off.steps["grad_norm"]) > 0.05  # so the limit did bite


def test_a_study_carries_grad_clip_into_every_run_and_its_key():
    from cnnlab.studies.loader import parse_study
    from cnnlab.studies.plan import plan_runs

    raw = {"name": "s", "dataset": "synthetic", "epochs": 1, "seeds": 2, "train": {"grad_clip": 1.0},
           "models": [{"name": "fc"}, {"name": "fc", "label": "fc free", "train": {"grad_clip": 0}}]}
    study = parse_study(raw, "s.toml")
    runs = plan_runs(study, torch.device("cpu"), n_train=64, threads=1)
    assert [r.train["grad_clip"] for r in runs] == [1.0, 1.0, 0.0, 0.0]  # a model's own table wins
    looser = plan_runs(study.with_overrides(train={"grad_clip": 2.0}), torch.device("cpu"), n_train=64, threads=1)
    assert [r.train["grad_clip"] for r in looser] == [2.0, 2.0, 0.0, 0.0]  # --grad-clip replaces [train]'s
    assert {r.key for r in runs[:2]}.isdisjoint(r.key for r in looser[:2])
    assert [r.key for r in runs[2:]] == [r.key for r in looser[2:]]
