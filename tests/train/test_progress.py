"""Progress bars where users watch: a terminal, or a Jupyter notebook (tqdm.auto's widget)."""

import io
import sys
from types import SimpleNamespace

from cnnlab.train import progress
from cnnlab.train.progress import Progress


def test_a_bar_in_a_jupyter_kernel_lines_elsewhere(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # not a terminal
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    assert Progress("auto", 1, 1).mode == "lines"
    shell = SimpleNamespace(config={"IPKernelApp": {}})  # what a Jupyter kernel's IPython reports
    monkeypatch.setitem(sys.modules, "IPython", SimpleNamespace(get_ipython=lambda: shell))
    monkeypatch.setattr(progress, "widget_bars", lambda: True)
    assert Progress("auto", 1, 1).mode == "bar"
    monkeypatch.setattr(progress, "widget_bars", lambda: False)  # a kernel without ipywidgets: lines
    assert Progress("auto", 1, 1).mode == "lines"
    shell.config = {"TerminalIPythonApp": {}}  # IPython in a terminal, its stderr piped
    assert Progress("auto", 1, 1).mode == "lines"
    monkeypatch.setitem(sys.modules, "IPython", SimpleNamespace(get_ipython=lambda: None))  # imported, no shell
    assert Progress("auto", 1, 1).mode == "lines"
