"""The step runner: device-tensor learning rates from a tabulated schedule, device-side sums
and logs, static batch buffers, and the CUDA-graph orchestration (warm-up, replays, eager
partial batches and callback steps, fallback when capture fails), all checked on the CPU."""

import copy

import pytest
import torch

from cnnlab.data.synthetic import make_synthetic
from cnnlab.models import create_model
from cnnlab.train import Callback, Inputs, TrainConfig, evaluate, make_optimizer, make_scheduler, train, train_step
from cnnlab.train.precision import FP32
from cnnlab.train.progress import Progress
from cnnlab.train.step_runner import WARMUP_STEPS, StepRunner, lr_schedule

LEARNED = ("train_loss", "train_acc", "test_loss", "test_acc", "lr")


@pytest.fixture(scope="module")
def data():
    return make_synthetic(n_train=330, n_test=100)  # 330 = 5 batches of 64 + a partial batch of 10


@pytest.mark.parametrize("schedule", ["constant", "cosine", "onecycle"])
def test_tabulated_schedule_is_what_the_scheduler_gives_step_by_step(schedule):
    config = TrainConfig(lr=0.1, schedule=schedule)
    model = torch.nn.Linear(2, 2)
    optimizer = make_optimizer(model, config)
    scheduler = make_scheduler(optimizer, config, 20)
    expected = []
    for _ in range(20):
        expected.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert lr_schedule(make_scheduler, config, 20) == expected
    assert len(set(expected)) == (1 if schedule == "constant" else 20)


def reference_fit(model, data, config):
    """A plain loop over the same steps: Python-float learning rates from the scheduler, batches
    and augmentation drawn from the same per-epoch generators, Python lists for the logs."""
    inputs = Inputs(data, FP32, "cpu", config)
    n, bs = len(data.train_labels), config.batch_size
    steps = -(-n // bs)
    optimizer = make_optimizer(model, config)
    scheduler = make_scheduler(optimizer, config, steps * config.epochs)
    rows, step_losses, step_norms = [], [], []
    for epoch in range(1, config.epochs + 1):
        generator = torch.Generator().manual_seed(config.seed * 1_000_003 + epoch)
        torch.manual_seed(config.seed * 1_000_003 + epoch)
        order = torch.randperm(n, generator=generator)
        loss_sum, correct = 0.0, 0
        for i in range(steps):
            idx = order[i * bs:(i + 1) * bs]
            x = inputs.augmented(data.train_images[idx], generator)
            y = data.train_labels[idx]

            def log_norm():
                norms = [p.grad.norm() for p in model.parameters() if p.grad is not None]
                step_norms.append(float(torch.linalg.vector_norm(torch.stack(norms))))

            loss, logits = train_step(model, optimizer, x, y, inputs, config, log_norm)
            lr = optimizer.param_groups[0]["lr"]
            scheduler.step()
            step_losses.append(float(loss))
            loss_sum += float(loss.double() * len(y))
            correct += int((logits.argmax(1) == y).sum())
        result = evaluate(model, data.test_images, data.test_labels, inputs, data.num_classes)
        rows.append({"train_loss": loss_sum / n, "train_acc": correct / n, "test_loss": result.loss,
                     "test_acc": result.accuracy, "lr": lr})
    return rows, step_losses, step_norms


@pytest.mark.slow
def test_trainer_equals_a_plain_loop_with_float_learning_rates(data):
    """Tensor learning rates, device-side sums and index-copied logs change no number."""
    config = TrainConfig(epochs=2, batch_size=64, optimizer="adamw", lr=3e-3, schedule="cosine", weight_decay=0.05,
                         augment=True, crop_padding=2, label_smoothing=0.1, log_steps=True, precision="fp32")
    torch.manual_seed(0)
    model = create_model("fc-deep", data.in_shape, data.num_classes)  # has dropout: the global RNG matters too
    reference = copy.deepcopy(model)
    history = train(model, data, config, device="cpu", verbosity="none")
    rows, step_losses, step_norms = reference_fit(reference, data, config)
    assert [[r[k] for k in LEARNED] for r in history.epochs] == [[r[k] for k in LEARNED] for r in rows]
    assert history.steps["loss"] == pytest.approx(step_losses, rel=1e-6)
    assert history.steps["grad_norm"] == pytest.approx(step_norms, rel=1e-5)
    assert len(step_losses) == 2 * 6 and history.step_mode == "eager"
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), reference.parameters()))


class FakeGraph:
    """Stands in for torch.cuda.CUDAGraph on the CPU: replay() re-runs the captured step on the
    static buffers, as a real graph replays its kernels on the same memory."""

    def __init__(self, runner):
        self.runner, self.replays = runner, 0

    def replay(self):
        self.replays += 1
        self.runner._step(self.runner.batch, None)


class EveryFifthStep(Callback):
    def __init__(self):
        self.seen = []

    def wants_backward(self, step):
        return step % 5 == 0

    def after_backward(self, model, step):
        assert all(p.grad is not None for p in model.parameters())
        self.seen.append(step)


def _runner(data, config, use_graph, callbacks=(), messages=None):
    torch.manual_seed(0)
    model = create_model("simple-cnn", data.in_shape, data.num_classes)
    inputs = Inputs(data, FP32, "cpu", config)
    steps = -(-len(data.train_labels) // config.batch_size)
    rates = lr_schedule(make_scheduler, config, steps * config.epochs)
    return StepRunner(model, make_optimizer(model, config), data, inputs, config, rates, steps, callbacks,
                      use_graph=use_graph, on_message=(messages.append if messages is not None else print))


@pytest.mark.slow
def test_graph_orchestration_replays_full_batches_and_runs_the_rest_eagerly(data, monkeypatch):
    config = TrainConfig(epochs=2, batch_size=32, schedule="cosine", precision="fp32")  # 10 full + 1 partial
    progress = Progress("none", 2, 11)
    eager = _runner(data, config, use_graph=False)
    graphs = []

    def fake_capture(runner, generator):
        runner.graph = FakeGraph(runner)
        runner.graph_loss = runner.loss
        graphs.append(runner.graph)

    monkeypatch.setattr(StepRunner, "_capture", fake_capture)
    callback = EveryFifthStep()
    graphed = _runner(data, config, use_graph=True, callbacks=[callback])
    for epoch in (1, 2):
        generator = torch.Generator().manual_seed(epoch)
        a = eager.run_epoch(epoch, generator, progress)
        b = graphed.run_epoch(epoch, torch.Generator().manual_seed(epoch), progress)
        assert a["loss_sum"].item() == b["loss_sum"].item() and a["correct"].item() == b["correct"].item()
    assert all(torch.equal(p, q) for p, q in zip(eager.model.parameters(), graphed.model.parameters()))
    assert len(graphs) == 1  # captured once, replayed ever after
    callback_steps = [s for s in range(22) if s % 5 == 0]
    assert callback.seen == callback_steps
    full_batches = [s for s in range(22) if s % 11 != 10]
    replayed = [s for s in full_batches if s % 5 and s >= WARMUP_STEPS + 1]  # warm-ups skip the callback steps
    assert graphs[0].replays == len(replayed)


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason="on a GPU the capture succeeds (tests/train/test_cuda_graphs.py)")
def test_failed_capture_falls_back_to_eager_with_one_line_and_the_same_numbers(data):
    config = TrainConfig(epochs=2, batch_size=32, precision="fp32")
    progress = Progress("none", 2, 11)
    messages = []
    eager, fallback = _runner(data, config, use_graph=False), _runner(data, config, use_graph=True, messages=messages)
    for epoch in (1, 2):
        a = eager.run_epoch(epoch, torch.Generator().manual_seed(epoch), progress)
        b = fallback.run_epoch(epoch, torch.Generator().manual_seed(epoch), progress)
        assert a["loss_sum"].item() == b["loss_sum"].item()
    assert len(messages) == 1 and messages[0].startswith("CUDA graph capture failed (") and "training eagerly" in messages[0]
    assert fallback.mode.startswith("eager (CUDA graph capture failed")


@pytest.mark.slow
def test_resume_restarts_the_step_counter_and_schedule_where_it_stopped(data, tmp_path):
    config = TrainConfig(epochs=3, batch_size=64, schedule="onecycle", lr=1e-2, precision="fp32")
    torch.manual_seed(0)
    full = train(create_model("simple-cnn", data.in_shape, data.num_classes), data, config, device="cpu",
                 verbosity="none")
    torch.manual_seed(0)
    first = TrainConfig(**{**config.to_dict()})
    model = create_model("simple-cnn", data.in_shape, data.num_classes)

    class Stop(Callback):
        def on_epoch_end(self, model, epoch, metrics):
            if epoch == 2:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(model, data, first, out_dir=tmp_path, callbacks=[Stop()], device="cpu", verbosity="none")
    resumed = train(create_model("simple-cnn", data.in_shape, data.num_classes), data, config, out_dir=tmp_path,
                    resume=True, device="cpu", verbosity="none")
    assert resumed.resumed_from == 1
    assert [[r[k] for k in LEARNED] for r in resumed.epochs] == [[r[k] for k in LEARNED] for r in full.epochs]
