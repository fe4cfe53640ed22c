"""`cnnlab run` in a real terminal: a pseudo-terminal of 120 columns, its output replayed on a
terminal emulator (pyte), and the screen read as a user sees it.

Before: the study's bar and the runs' per-epoch lines shared stderr, and each epoch line lost
its first character to the bar ("C seed 0 epoch 1/2" for "FC seed 0 epoch 1/2"); after Ctrl-C
the shell's prompt began mid-line."""

import fcntl
import os
import pty
import signal
import struct
import subprocess
import sys
import termios
import time

import pytest

pyte = pytest.importorskip("pyte")

pytestmark = pytest.mark.process

COLUMNS, ROWS = 120, 200  # tall enough that nothing scrolls away

STUDY = """\
name = "terminal"
dataset = "synthetic"
subset = {subset}
test_subset = 128
epochs = {epochs}
seeds = 1
analyses = ["overfitting"]

[train]
batch_size = 32
precision = "fp32"

[[models]]
name = "fc"
label = "FC"
kwargs = {{ hidden = [16] }}

[[models]]
name = "simple-cnn"
label = "CNN"
kwargs = {{ width = 4, hidden = 16 }}
"""


def _run_in_terminal(tmp_path, epochs: int, subset: int = 256, interrupt_after: str | None = None) -> tuple[int, "pyte.Screen"]:
    """Run a two-model study in a pseudo-terminal; SIGINT once `interrupt_after` has been printed.
    Returns the exit code and the emulated screen."""
    study = tmp_path / "terminal.toml"
    study.write_text(STUDY.format(epochs=epochs, subset=subset), encoding="utf-8")
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
    env = {**os.environ, "TERM": "xterm", "COLUMNS": str(COLUMNS), "LINES": str(ROWS),
           "CNNLAB_CACHE": str(tmp_path / "cache")}
    proc = subprocess.Popen([sys.executable, "-m", "cnnlab", "run", str(study), "--out", str(tmp_path / "out"),
                             "--device", "cpu", "--workers", "1", "--cpus-per-run", "1", "--no-report"],
                            stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    output, interrupted, deadline = b"", False, time.monotonic() + 240
    while time.monotonic() < deadline:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
        if interrupt_after and not interrupted and interrupt_after.encode() in output:
            os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the terminal's foreground group
            interrupted = True
    os.close(master)
    code = proc.wait(timeout=60)
    screen = pyte.Screen(COLUMNS, ROWS)
    pyte.ByteStream(screen).feed(output.replace(b"\n", b"\r\n") if b"\r\n" not in output else output)
    return code, screen


def _lines(screen) -> list[str]:
    return [line.rstrip() for line in screen.display]


def test_epoch_lines_keep_every_character_beside_the_study_bar(tmp_path):
    code, screen = _run_in_terminal(tmp_path, epochs=2)
    lines = _lines(screen)
    assert code == 0, "\n".join(lines)
    epoch_lines = [line for line in lines if "epoch 1/2  train loss" in line or "epoch 2/2  train loss" in line]
    assert len(epoch_lines) == 4, "\n".join(lines)
    for line in epoch_lines:
        assert line.startswith(("FC seed 0 epoch ", "CNN seed 0 epoch ")), "\n".join(lines)
    assert any(line.startswith("[1/2] ") for line in lines) and any(line.startswith("[2/2] ") for line in lines)


def test_after_ctrl_c_the_cursor_is_at_the_start_of_a_clean_line(tmp_path):
    # Epochs long enough that the interrupt lands while an epoch's bar is on the screen.
    code, screen = _run_in_terminal(tmp_path, epochs=30, subset=2_000, interrupt_after="epoch 1/30  train loss")
    assert code == 130, "\n".join(_lines(screen))
    assert screen.cursor.x == 0  # the shell's prompt starts at the left edge
    assert _lines(screen)[screen.cursor.y] == ""  # on an empty line, not over a bar
