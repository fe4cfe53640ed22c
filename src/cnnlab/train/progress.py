"""Live progress: a tqdm bar on a terminal or in Jupyter, one plain line per epoch otherwise.

On a terminal the bar of an epoch is replaced by a line with its figures. Jupyter shows
stderr as warning boxes, so where the bars are widgets (ipywidgets installed) the widgets
are all there is: no per-epoch lines.
"""

import sys
import time
import warnings

from tqdm import TqdmWarning

with warnings.catch_warnings():
    # In Jupyter without ipywidgets tqdm.auto warns and falls back to text bars, which a notebook
    # shows as a stream of escape codes; cnnlab prints plain lines there instead (interactive()).
    warnings.simplefilter("ignore", TqdmWarning)
    from tqdm.auto import tqdm  # a widget in Jupyter, text on a terminal

NOTEBOOK_HINT = ("progress bars in Jupyter need ipywidgets (pip install ipywidgets, or the cnnlab[notebook] "
                 "extra); showing one line per epoch instead")
_hinted = False


def in_jupyter() -> bool:
    """Is this a Jupyter kernel (IPython already imported by it, so this imports nothing)?"""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def interactive() -> bool:
    """Is someone watching a live bar: a terminal on stderr, or a Jupyter kernel that shows bars as
    widgets? (Without ipywidgets a kernel gets lines, and a one-time hint.)"""
    global _hinted
    if sys.stderr.isatty():
        return True
    if not in_jupyter():
        return False
    if widget_bars():
        return True
    if not _hinted:
        _hinted = True
        print(NOTEBOOK_HINT, flush=True)
    return False


def widget_bars() -> bool:
    """Are tqdm.auto's bars Jupyter widgets here (a kernel with ipywidgets)? tqdm.auto has
    imported tqdm.notebook when it chose them, so this imports nothing."""
    notebook = sys.modules.get("tqdm.notebook")
    return notebook is not None and issubclass(tqdm, notebook.tqdm_notebook)


class Progress:
    def __init__(self, verbosity: str, total_epochs: int, steps_per_epoch: int, label: str = ""):
        if verbosity == "auto":
            verbosity = "bar" if interactive() else "lines"
        self.mode = verbosity
        self.widgets = verbosity == "bar" and widget_bars()
        self.total_epochs = total_epochs
        self.steps_per_epoch = steps_per_epoch
        self.label = f"{label} " if label else ""
        self.bar = None
        self.t_epoch = self.t_refresh = time.perf_counter()

    def step(self, epoch: int, i: int, loss, correct, seen: int):
        if self.mode != "bar":
            return
        if self.bar is None or i == 0:
            self._new_bar(epoch)
        now = time.perf_counter()
        # Reading loss/correct synchronises the device, so refresh a few times a second only.
        if now - self.t_refresh > 0.25 or i + 1 == self.steps_per_epoch:
            self.bar.set_postfix(loss=f"{loss.item():.3f}", acc=f"{correct.item() / seen:.3f}",
                                 img_s=f"{seen / (now - self.t_epoch):.0f}", refresh=False)
            self.bar.update(i + 1 - self.bar.n)
            self.t_refresh = now

    def _new_bar(self, epoch: int):
        if self.bar is not None:
            self.bar.close()
        self.t_epoch = time.perf_counter()
        self.bar = tqdm(total=self.steps_per_epoch, leave=False, dynamic_ncols=True,
                        desc=f"{self.label}epoch {epoch}/{self.total_epochs}", file=sys.stderr)

    def epoch_done(self, row: dict):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if self.mode == "lines" or (self.mode == "bar" and not self.widgets):
            self.message(
                f"{self.label}epoch {row['epoch']}/{self.total_epochs}  "
                f"train loss {row['train_loss']:.4f} acc {100 * row['train_acc']:.2f}%  "
                f"test loss {row['test_loss']:.4f} acc {100 * row['test_acc']:.2f}%  "
                f"{row['epoch_seconds']:.1f}s  {row['images_per_second']:.0f} img/s"
            )

    def message(self, text: str):
        # tqdm.write lifts every bar of this process (a study's bar too) off the screen, prints the
        # line and puts the bars back: a plain print would land on a bar and lose characters to it.
        if self.mode != "none":
            out = sys.stdout if in_jupyter() else sys.stderr  # Jupyter shows stderr as warnings
            tqdm.write(text, file=out)
            out.flush()

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None

