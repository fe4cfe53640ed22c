"""Inference timing and training-step memory on the CPU (tiny models, few repetitions)."""

import json

import pytest
import torch
import torch.nn as nn

from cnnlab.analyses.inference.measure import measure_inference
from cnnlab.analyses.memory.measure import peak_memory
from cnnlab.data.synthetic import make_synthetic
from cnnlab.errors import UserError
from cnnlab.train import TrainConfig


def tiny_cnn():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, 3))


def test_inference_medians_are_positive_and_repetitions_recorded():
    model = tiny_cnn().train()
    result = measure_inference(model, (1, 8, 8), batch_sizes=(1, 4), repeats=5, warmup=1)
    assert result["repeats"] == 5 and result["warmup"] == 1
    assert [r["batch_size"] for r in result["results"]] == [1, 4]
    for r in result["results"]:
        assert r["median_ms"] > 0 and r["q1_ms"] <= r["median_ms"] <= r["q3_ms"]
        assert r["iqr_ms"] == pytest.approx(r["q3_ms"] - r["q1_ms"])
        assert r["images_per_second"] == pytest.approx(r["batch_size"] / r["median_ms"] * 1e3)
    assert result["threads"] == torch.get_num_threads() and result["precision"] == "fp32"
    assert result["device"] == "cpu" and result["device_name"]
    json.dumps(result)
    assert model.training  # the caller's model is untouched


def test_bf16_autocast_runs_and_unknown_precision_is_rejected():
    result = measure_inference(tiny_cnn(), (1, 8, 8), batch_sizes=(2,), repeats=2, warmup=0, precision="bf16")
    assert result["precision"] == "bf16" and result["results"][0]["median_ms"] > 0
    with pytest.raises(UserError, match="unknown precision 'fp16'; valid: fp32, bf16, auto"):
        measure_inference(tiny_cnn(), (1, 8, 8), precision="fp16")


def test_training_step_peak_holds_gradients_and_adam_state():
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                          nn.Linear(256, 4))
    param_bytes = sum(p.numel() * 4 for p in model.parameters())
    before = [p.clone() for p in model.parameters()]
    data = make_synthetic(n_train=512, n_test=10, num_classes=4, shape=(1, 8, 8))
    small = peak_memory(model, data, TrainConfig(batch_size=2, optimizer="adam", precision="fp32"))
    # After Adam's step the gradients and both moment buffers are alive at once.
    assert small["step_bytes"] >= 3 * param_bytes
    assert small["resident_bytes"] >= param_bytes
    assert small["peak_bytes"] == small["resident_bytes"] + small["step_bytes"]
    # With 512 images, the two ReLU outputs (512 x 256 floats each) are kept for backward.
    large = peak_memory(model, data, TrainConfig(batch_size=512, optimizer="adam", precision="fp32"))
    assert large["step_bytes"] >= 2 * 512 * 256 * 4 and large["step_bytes"] > small["step_bytes"]
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))  # ran on a copy
    assert (large["batch_size"], large["optimizer"], large["precision"]) == (512, "adam", "fp32")
    json.dumps(large)


SEEN = []  # what the probe saw; module-level, because peak_memory steps a deep copy


class _Probe(nn.Module):
    """Records the memory layout of its input and the dtype its linear layer computes in."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3 * 8 * 8, 4)

    def forward(self, x):
        out = self.linear(x.flatten(1))
        SEEN.append((x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous(), out.dtype))
        return out


# On the CPU both precisions train channels-last (train/precision.py says why).
@pytest.mark.parametrize("precision,expected", [("fp32", (True, torch.float32)), ("bf16", (True, torch.bfloat16))])
def test_peak_memory_steps_in_the_runs_precision(precision, expected):
    data = make_synthetic(n_train=64, n_test=10, num_classes=4, shape=(3, 8, 8))
    SEEN.clear()
    result = peak_memory(_Probe(), data, TrainConfig(batch_size=16, precision=precision))
    assert result["precision"] == precision and SEEN == [expected]


def test_inspect_times_each_block_of_a_network(capsys):
    """`cnnlab inspect resnet-basic --time`: a forward and backward time per top-level block, beside
    its parameters and MACs (issue 37)."""
    from cnnlab.cli import main

    assert main(["inspect", "resnet-basic", "--time", "--repeats", "2", "--batch-size", "4", "--precision", "fp32"]) == 0
    out = capsys.readouterr().out
    table = out.split("block ")[1]
    assert "forward ms (q1-q3)" in table and "backward ms (q1-q3)" in table
    blocks = [line.split()[1] for line in table.splitlines() if line.startswith("features.") or line.startswith("head")]
    assert blocks.count("BasicBlock") == 6 and blocks[-1] == "Sequential"
    assert "2 timed passes on a batch of 4" in out


def test_block_times_follow_the_network_and_say_when_it_is_no_chain():
    import torch.nn as nn

    from cnnlab.analyses.inference.measure import measure_blocks
    from cnnlab.models import create_model

    timed = measure_blocks(create_model("simple-cnn", in_shape=(1, 28, 28), num_classes=10), (1, 28, 28),
                           batch_size=2, repeats=2, warmup=1)
    assert [b["block"] for b in timed["blocks"]][-1] == "head"
    assert all(b["forward"]["q1_ms"] <= b["forward"]["median_ms"] <= b["forward"]["q3_ms"] for b in timed["blocks"])
    assert sum(b["params"] for b in timed["blocks"]) == 421_642

    class Branches(nn.Module):
        def forward(self, x):
            return x

    assert measure_blocks(Branches(), (1, 4, 4), repeats=1) is None
