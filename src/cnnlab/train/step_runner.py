"""An epoch of training steps, the same on every device, replayed from a CUDA graph on a GPU.

`StepRunner` keeps everything a step touches in fixed device buffers: the batch's indices,
the learning rate (a device tensor, set from a schedule that torch's LRScheduler computed
for every step in advance), a step counter, the epoch's loss and correct-prediction sums,
and the per-step loss and gradient-norm logs of the stability analysis. A step is then a
fixed sequence of kernels on fixed shapes with no host synchronisation: gather the batch,
augment, normalise, forward, loss, backward, optimizer step, accumulate.

On CUDA that sequence is captured once into a CUDA graph and replayed for every full batch,
so one step costs one launch instead of hundreds (small models are otherwise bound by
Python and kernel launches, not by the GPU). Everywhere else, and for the few steps that
cannot be replayed, the same code runs eagerly:
- the first WARMUP_STEPS steps (lazy optimizer state, cuDNN autotuning) on a side stream;
- the last, partial batch of an epoch (another shape), so every device sees the same batches;
- steps where a callback needs gradients in Python (gradient-flow snapshots).
A model that cannot be captured trains eagerly, with one line saying why.
"""

import torch

from cnnlab.train.passes import train_step

WARMUP_STEPS = 3  # eager steps before capture; the PyTorch docs ask for a few on a side stream


def lr_schedule(make_scheduler, config, total_steps: int) -> list[float]:
    """The learning rate of every step, as the run's torch LRScheduler gives it."""
    probe = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=config.lr, momentum=0.9)
    scheduler = make_scheduler(probe, config, total_steps)
    rates = []
    for _ in range(total_steps):
        rates.append(float(probe.param_groups[0]["lr"]))
        probe.step()  # no gradients: a no-op that keeps the scheduler's call-order check quiet
        scheduler.step()
    return rates


class StepRunner:
    def __init__(self, model, optimizer, data, inputs, config, rates: list[float], steps_per_epoch: int,
                 callbacks=(), use_graph: bool = False, on_message=print):
        device = inputs.device
        self.model, self.optimizer, self.data, self.inputs, self.config = model, optimizer, data, inputs, config
        self.callbacks = list(callbacks)
        self.steps_per_epoch = steps_per_epoch
        self.full_batches = len(data.train_labels) // config.batch_size
        self.on_message = on_message
        # float64 on the CPU keeps the fused optimizers' arithmetic identical to a Python-float
        # learning rate; CUDA's fused kernels take float32.
        dtype = torch.float32 if device.type == "cuda" else torch.float64
        self.rates = torch.tensor(rates, dtype=dtype, device=device)
        self.lr = torch.tensor(rates[0], dtype=dtype, device=device)
        for group in optimizer.param_groups:
            group["lr"] = self.lr
        self.step = torch.zeros(1, dtype=torch.int64, device=device)  # global step, shape (1,) for index_select
        self.position = torch.zeros(1, dtype=torch.int64, device=device)  # step within the epoch
        self.loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        self.correct = torch.zeros((), dtype=torch.int64, device=device)
        log = steps_per_epoch if config.log_steps else 0
        self.step_losses = torch.zeros(log, dtype=torch.float32, device=device)
        self.step_norms = torch.zeros(log, dtype=torch.float32, device=device)
        self.batch = torch.zeros(config.batch_size, dtype=torch.int64, device=device)
        self.use_graph = use_graph
        self.mode = "cuda-graph" if use_graph else "eager"
        self.graph = None
        self.warm_up_left = WARMUP_STEPS
        self.loss = None  # the last step's loss (a device scalar; reading it synchronises)
        self.graph_loss = None

    # ---- one step -------------------------------------------------------------------------
    def _step(self, batch, generator, global_step: int | None = None, capturing: bool = False):
        """One training step on the images at `batch` (device indices). Every value it changes
        lives in a device buffer, so a CUDA graph of this call replays it exactly."""
        self.lr.copy_(self.rates.index_select(0, self.step).view(()))
        x = self.inputs.augmented(self.data.train_images[batch], generator)
        y = self.data.train_labels[batch]

        def after_backward():
            if self.config.log_steps:
                grads = [p.grad for p in self.model.parameters() if p.grad is not None]
                norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
                self.step_norms.index_copy_(0, self.position, norm.float().view(1))
            for cb in self.callbacks:
                if global_step is not None and cb.wants_backward(global_step):
                    cb.after_backward(self.model, global_step)

        loss, logits = train_step(self.model, self.optimizer, x, y, self.inputs, self.config,
                                  after_backward, autocast_cache=not capturing)
        self.loss_sum += loss.double() * len(y)
        self.correct += (logits.argmax(1) == y).sum()
        if self.config.log_steps:
            self.step_losses.index_copy_(0, self.position, loss.float().view(1))
        self.position += 1
        self.step += 1
        self.loss = loss

    def _needs_python(self, global_step: int) -> bool:
        return any(cb.wants_backward(global_step) for cb in self.callbacks)

    # ---- an epoch ---------------------------------------------------------------------------
    def run_epoch(self, epoch: int, generator, progress) -> dict:
        """Train one epoch. `generator` shuffles; on the eager path it also draws the
        augmentation, while graph replays draw it from the default CUDA generator (seeded per
        epoch by the trainer), the only generator a graph can advance on every replay.
        Returns {"loss_sum", "correct"} (device tensors) and the per-step logs."""
        config, n = self.config, len(self.data.train_labels)
        order = torch.randperm(n, generator=generator, device=self.inputs.device)
        augment_generator = None if self.use_graph else generator
        self.loss_sum.zero_()
        self.correct.zero_()
        self.position.zero_()
        first = (epoch - 1) * self.steps_per_epoch
        self.step.fill_(first)
        for i in range(self.steps_per_epoch):
            global_step = first + i
            batch = order[i * config.batch_size:(i + 1) * config.batch_size]
            replay = self.use_graph and i < self.full_batches and not self._needs_python(global_step)
            if replay and self.graph is None and self.warm_up_left:
                self._warm_up_step(batch, augment_generator, global_step)
            elif replay:
                self.batch.copy_(batch)
                if self.graph is None:
                    self._capture(augment_generator)
                if self.graph is not None:
                    self.graph.replay()
                    self.loss = self.graph_loss
                else:  # capture failed: this and every later step run eagerly
                    self._step(batch, augment_generator, global_step)
            else:
                self._step(batch, augment_generator, global_step)
            progress.step(epoch, i, self.loss, self.correct, min((i + 1) * config.batch_size, n))
        return {"loss_sum": self.loss_sum, "correct": self.correct,
                "step_losses": self.step_losses, "step_norms": self.step_norms}

    def _warm_up_step(self, batch, generator, global_step):
        self.warm_up_left -= 1
        if self.inputs.device.type != "cuda":
            return self._step(batch, generator, global_step)
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            self._step(batch, generator, global_step)
        torch.cuda.current_stream().wait_stream(side)

    def _capture(self, generator):
        try:
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                self._step(self.batch, generator, capturing=True)
        except Exception as e:  # an op that cannot be captured (a host sync, a CPU tensor, ...)
            reason = str(e).strip().splitlines()[0][:160] if str(e).strip() else type(e).__name__
            self.use_graph, self.mode = False, f"eager (CUDA graph capture failed: {type(e).__name__}: {reason})"
            self.on_message(f"CUDA graph capture failed ({type(e).__name__}: {reason}); training eagerly")
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            return
        self.graph, self.graph_loss = graph, self.loss
