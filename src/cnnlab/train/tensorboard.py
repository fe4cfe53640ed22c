"""Live curves in TensorBoard: a trainer callback that writes a run's event files through
`torch.utils.tensorboard`, so `tensorboard --logdir OUT/tensorboard` shows a study while it trains.

TensorBoard names a run by its path under --logdir, so the event files of the run in
OUT/runs/<run key> go to OUT/tensorboard/<study>/<model label>/seed<N>-lr<lr>-<run key>
(tune-seed<N>-... for a tuning run): the sidebar reads study / label / seed and learning
rate, and the run key, last, keeps apart runs that share them (another profile, older code).

One x axis for everything, the optimizer step (0-based, as in gradient-flow records):

    loss/train, loss/test, accuracy/train, accuracy/test,
    lr, images_per_second, epoch             at the last step of each epoch
    (a tuning run: loss/validation and accuracy/validation instead of the test tags)
    grad_norm/NN_<weight tensor>             at every step GradFlowRecorder logs (when it runs),
                                             written at the end of that step's epoch

It only copies numbers the trainer and the recorder have already computed (the epoch's
metrics row, the recorder's per-layer norms), so it changes nothing a run measures.
Each writer opens with `purge_step` at the first step it is about to train: a resumed run
hides whatever a killed attempt wrote past its last checkpoint, and a run started over
hides all of an earlier attempt, so curves continue without duplicates.

Writing is best effort: without the tensorboard package, or when a write fails, it says
so once and the run goes on.
"""

import re
from pathlib import Path

from cnnlab.errors import say
from cnnlab.models.common import weight_layers
from cnnlab.store.schema import TENSORBOARD_DIR
from cnnlab.train.callbacks import Callback

# metrics.jsonl column -> scalar tag
EPOCH_TAGS = {"train_loss": "loss/train", "test_loss": "loss/test", "train_acc": "accuracy/train",
              "test_acc": "accuracy/test", "lr": "lr", "images_per_second": "images_per_second", "epoch": "epoch"}
# A tuning run scores a validation split of the training images, never the test images.
TUNING_TAGS = {**EPOCH_TAGS, "test_loss": "loss/validation", "test_acc": "accuracy/validation"}

_said_missing = False  # "tensorboard is not installed" is said once per process


def _path_part(text: str, default: str) -> str:
    """A label as one directory name: no separators, no leading dot ("..")."""
    return re.sub(r"[^\w .()+,=@-]+", "_", str(text)).strip(" ._")[:60] or default


def run_log_dir(run_dir, study: str, label: str, seed: int, train: dict | None = None, tuning: bool = False) -> Path:
    """OUT/tensorboard/<study>/<label>/[tune-]seed<N>[-lr<lr>][-wd<wd>]-<run key> for the run directory
    OUT/runs/<run key>: a tuning run and the runs of a model at other settings (shared or tuned)
    read apart in the sidebar. A run directory elsewhere (a copy, a test) keeps that tree inside itself."""
    run_dir = Path(run_dir)
    root = run_dir.parent.parent if run_dir.parent.name == "runs" else run_dir
    train = train or {}
    settings = "".join(f"-{short}{train[key]:g}" for key, short in (("lr", "lr"), ("weight_decay", "wd"))
                       if isinstance(train.get(key), (int, float)) and (key == "lr" or train[key]))
    return (root / TENSORBOARD_DIR / _path_part(study, "study") / _path_part(label, "model")
            / f"{'tune-' if tuning else ''}seed{seed}{settings}-{run_dir.name}")


def remove_run_logs(out, run_key: str):
    """Delete the event files of one run of OUT (with `cnnlab runs --prune-stale`)."""
    import shutil

    for log_dir in (Path(out) / TENSORBOARD_DIR).glob(f"*/*/*seed*-{run_key}"):
        shutil.rmtree(log_dir, ignore_errors=True)
        for parent in (log_dir.parent, log_dir.parent.parent):  # the label and study folders, once empty
            try:
                parent.rmdir()
            except OSError:
                break


def _open_writer(log_dir: Path, purge_step: int, on_message):
    """A SummaryWriter, or None (said once) when the tensorboard package is missing."""
    global _said_missing
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as e:
        if not _said_missing:
            on_message(f"tensorboard is not installed ({e}): runs write no TensorBoard event files "
                 "(pip install tensorboard)")
            _said_missing = True
        return None
    return SummaryWriter(str(log_dir), purge_step=purge_step, flush_secs=30)


class TensorBoardLogger(Callback):
    """Add after `grad_flow` (the GradFlowRecorder of the run, if any) in the trainer's
    callbacks, and `close()` it when training ends."""

    def __init__(self, log_dir, steps_per_epoch: int, grad_flow=None, description: str = "", on_message=say,
                 tuning: bool = False):
        self.log_dir = Path(log_dir)
        self.tags = TUNING_TAGS if tuning else EPOCH_TAGS
        self.steps_per_epoch = steps_per_epoch
        self.grad_flow = grad_flow
        self.description = description
        self.on_message = on_message
        self.epochs_done = 0  # committed with each checkpoint, restored on resume
        self.writer = None

    def on_train_start(self, model, config):
        self._guard("open", self._open)

    def _open(self):
        self.writer = _open_writer(self.log_dir, self.epochs_done * self.steps_per_epoch, self.on_message)
        if self.writer is not None and self.epochs_done == 0 and self.description:
            self.writer.add_text("run", self.description, 0)

    def on_epoch_end(self, model, epoch: int, metrics: dict):
        self.epochs_done = epoch
        if self.writer is None:
            return
        first, last = (epoch - 1) * self.steps_per_epoch, epoch * self.steps_per_epoch - 1

        def write():
            for key, tag in self.tags.items():
                self.writer.add_scalar(tag, metrics[key], last)
            # The recorder's snapshots of this epoch, written here rather than after each
            # backward: the logger needs no Python between backward and the optimizer step,
            # so the steps it does not watch can be replayed from a CUDA graph.
            recorder = self.grad_flow
            for step, norms in zip(recorder.steps, recorder.grad_norm) if recorder is not None else ():
                if first <= step <= last:
                    for k, j in enumerate(weight_layers(recorder.shapes), start=1):
                        if norms[j] is not None:
                            self.writer.add_scalar(f"grad_norm/{k:02d}_{recorder.names[j]}", norms[j], step)
            self.writer.flush()  # an epoch's curves show up now, not at the next periodic flush
        self._guard("write", write)

    def state_dict(self) -> dict:
        return {"epochs_done": self.epochs_done}

    def load_state_dict(self, state: dict):
        self.epochs_done = int(state["epochs_done"])

    def close(self):
        if self.writer is not None:
            self._guard("close", self.writer.close)
            self.writer = None

    def _guard(self, what: str, action):
        """Run a writer action; on failure say why once and stop writing: curves are a view
        of the run, never a reason to lose it."""
        try:
            action()
        except Exception as e:  # noqa: BLE001 - any error of the writer, whatever its kind
            self.on_message(f"TensorBoard: cannot {what} event files in {self.log_dir} "
                            f"({type(e).__name__}: {e}); the run goes on without them")
            self.writer = None
