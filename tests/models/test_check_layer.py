"""`cnnlab check-layer` and `cnnlab.check_layer`: every built-in custom layer passes, a deliberately
wrong backward fails with its error figure, and mistakes naming the layer are one line."""

import pytest
import torch

import cnnlab
from cnnlab.cli import main
from cnnlab.models.layers.activations import LeakySwish, Swish, SwishFunction
from cnnlab.models.layers.custom_conv import CustomConv2d
from cnnlab.models.layers.lp_pool import LpPool2d

LAYERS = """import torch


class Square(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return {factor} * x * grad
"""


@pytest.mark.parametrize("layer, shape", [(Swish(num_parameters=3), (2, 3, 4, 4)), (LeakySwish(num_parameters=3), (2, 3, 4, 4)),
                                          (CustomConv2d(2, 3, 3, padding=1), (1, 2, 5, 5)),
                                          (LpPool2d(2), (1, 2, 4, 4)), (SwishFunction, None)])
def test_every_built_in_custom_layer_passes(layer, shape, capsys):
    inputs = [torch.randn(*shape)] if shape else [torch.randn(2, 3, 4, 4), torch.rand(3) + 0.5]
    result = cnnlab.check_layer(layer, *inputs, repeats=2)
    assert result.passed and max(e.max_abs for e in result.errors) < 1e-6
    assert "PASS: gradcheck" in capsys.readouterr().out
    if layer is SwishFunction:  # an autograd.Function: its hand-written backward against autograd's
        assert result.autograd is not None and max(e.max_abs for e in result.autograd) < 1e-9


def test_a_wrong_backward_fails_with_its_error(tmp_path, capsys, monkeypatch):
    (tmp_path / "mine.py").write_text(LAYERS.format(factor="1.9"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["check-layer", "mine.py:Square", "--shape", "2,3"]) == 1
    out = capsys.readouterr().out
    assert "FAIL: gradcheck" in out and "largest error" in out
    worst = float(out.split("largest error ")[1].split()[0])
    assert worst > 0.01


def test_a_right_backward_passes_and_is_timed_against_a_reference(tmp_path, capsys, monkeypatch):
    (tmp_path / "mine.py").write_text(LAYERS.format(factor="2"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["check-layer", "mine.py:Square", "--shape", "2,3", "--reference", "torch:square",
                 "--repeats", "3"]) == 0
    out = capsys.readouterr().out
    assert "PASS" in out and "time (reference" in out and "against autograd's gradients" in out


@pytest.mark.parametrize("argv, message", [
    (["check-layer", "nowhere.py:Square", "--shape", "2"], "no file nowhere.py"),
    (["check-layer", "mine.py:Cube", "--shape", "2"], "has no 'Cube'; it has: Square"),
    (["check-layer", "broken.py:Square", "--shape", "2"], "broken.py, line 1: syntax error"),
    (["check-layer", "mine.py:Square", "--shape", "two"], "expected a shape like 2,3,8,8"),
])
def test_mistakes_are_one_line(argv, message, tmp_path, capsys, monkeypatch):
    (tmp_path / "mine.py").write_text(LAYERS.format(factor="2"), encoding="utf-8")
    (tmp_path / "broken.py").write_text("def Square(:\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
