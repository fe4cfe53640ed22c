"""Gradient-flow recorder: what it stores and what it flags."""

import io
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from cnnlab.analyses.grad_flow.measure import GradFlowRecorder, grad_flow_summary


def plain_net(activation, kaiming, depth=12, width=64, in_features=32):
    layers, d = [], in_features
    for _ in range(depth - 1):
        linear = nn.Linear(d, width)
        if kaiming:
            nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")
            nn.init.zeros_(linear.bias)
        layers += [linear, activation()]
        d = width
    return nn.Sequential(*layers, nn.Linear(d, 10))


def run_steps(model, recorder, steps, seed=0):
    """What the trainer does: on_train_start, then forward, backward, after_backward per step."""
    gen = torch.Generator().manual_seed(seed)
    recorder.on_train_start(model, None)
    for step in range(steps):
        x = torch.randn(16, 32, generator=gen)
        y = torch.randint(0, 10, (16,), generator=gen)
        model.zero_grad()
        F.cross_entropy(model(x), y).backward()
        recorder.after_backward(model, step)


def test_one_entry_per_parameter_tensor_per_logged_step():
    model = plain_net(nn.ReLU, kaiming=True, depth=3)
    recorder = GradFlowRecorder(every=2)
    run_steps(model, recorder, steps=5)
    n_tensors = len(list(model.parameters()))
    assert recorder.steps == [0, 2, 4]
    for values in (recorder.grad_norm, recorder.grad_abs_mean, recorder.weight_norm):
        assert len(values) == 3 and all(len(row) == n_tensors for row in values)
    # The stored numbers are the tensors' own norms (last logged step = current grads).
    params = dict(model.named_parameters())
    for name, g, a, w in zip(recorder.names, recorder.grad_norm[-1], recorder.grad_abs_mean[-1],
                             recorder.weight_norm[-1]):
        assert math.isclose(g, params[name].grad.norm().item(), rel_tol=1e-5)
        assert math.isclose(a, params[name].grad.abs().mean().item(), rel_tol=1e-5)
        assert math.isclose(w, params[name].norm().item(), rel_tol=1e-5)


class Reversed(nn.Module):
    """Registers `late` first but uses `early` first in forward."""

    def __init__(self):
        super().__init__()
        self.late = nn.Linear(8, 10)
        self.early = nn.Linear(32, 8)

    def forward(self, x):
        return self.late(torch.relu(self.early(x)))


def test_names_follow_forward_order_not_registration_order():
    model = Reversed()
    recorder = GradFlowRecorder()
    run_steps(model, recorder, steps=1)
    assert recorder.names == ["early.weight", "early.bias", "late.weight", "late.bias"]
    assert not recorder._handles  # the order-finding hooks are gone after the first step


def test_deep_sigmoid_net_vanishes_and_relu_kaiming_net_does_not():
    torch.manual_seed(0)
    sigmoid, relu = GradFlowRecorder(), GradFlowRecorder()
    run_steps(plain_net(nn.Sigmoid, kaiming=False), sigmoid, steps=1)
    run_steps(plain_net(nn.ReLU, kaiming=True), relu, steps=1)
    s, r = sigmoid.summary(), relu.summary()
    assert s["first"]["vanishing"] and s["vanishing"]
    assert s["first"]["ratio_first_last"] < 1e-3
    assert not r["first"]["vanishing"] and not r["vanishing"] and not r["exploding"]
    # The ratio uses the first and last weight matrices, in forward order.
    assert r["layer_names"][0] == "0.weight" and r["layer_names"][-1] == "22.weight"
    g = r["first"]["grad_norm"]
    names = r["names"]
    assert math.isclose(r["first"]["ratio_first_last"], g[names.index("0.weight")] / g[names.index("22.weight")])


def test_non_finite_or_huge_gradients_are_exploding():
    model = plain_net(nn.ReLU, kaiming=True, depth=3)
    recorder = GradFlowRecorder()
    run_steps(model, recorder, steps=1)
    model[0].weight.grad[0, 0] = float("inf")
    recorder.after_backward(model, 1)
    model[0].weight.grad.fill_(1e4)
    recorder.after_backward(model, 2)
    summary = recorder.summary()
    assert not summary["first"]["exploding"]
    assert summary["exploding_steps"] == [1, 2] and summary["last"]["exploding"]


def test_state_round_trips_through_a_weights_only_checkpoint():
    model = plain_net(nn.ReLU, kaiming=True, depth=3)
    recorder = GradFlowRecorder(every=1)
    run_steps(model, recorder, steps=2)
    buffer = io.BytesIO()
    torch.save({"callbacks": [recorder.state_dict()]}, buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)["callbacks"][0]
    resumed = GradFlowRecorder()
    resumed.load_state_dict(state)
    run_steps(model, resumed, steps=1)  # a resumed run appends to the record
    assert resumed.steps == [0, 1, 0] and resumed.names == recorder.names
    assert grad_flow_summary(resumed.to_dict())["first"] == recorder.summary()["first"]


def test_recorder_inside_the_trainer():
    from cnnlab.data.synthetic import make_synthetic
    from cnnlab.train.config import TrainConfig
    from cnnlab.train.trainer import train

    torch.manual_seed(0)
    data = make_synthetic(n_train=64, n_test=16, num_classes=3, shape=(1, 6, 6))
    model = nn.Sequential(nn.Flatten(), nn.Linear(36, 8), nn.ReLU(), nn.Linear(8, 3))
    recorder = GradFlowRecorder(every=2)
    config = TrainConfig(epochs=2, batch_size=16, precision="fp32", grad_flow_every=2)
    train(model, data, config, callbacks=[recorder], device="cpu", verbosity="none")
    assert recorder.steps == [0, 2, 4, 6]  # 4 steps per epoch, 2 epochs
    assert recorder.names == ["1.weight", "1.bias", "3.weight", "3.bias"]
    assert recorder.summary()["logged_steps"] == 4
