"""Processes that must not outlive their reason to exist: worker processes die with a
killed `cnnlab run --workers N` instead of writing into its output directory unwatched,
and a Ray address where nothing (or no Ray) answers fails in bounded time, not never."""

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from .conftest import snapshot

pytestmark = pytest.mark.process

LONG_STUDY = """\
name = "long"
dataset = "synthetic"
epochs = 200
seeds = 2
subset = 1000
analyses = ["overfitting"]

[train]
batch_size = 32
precision = "fp32"

[[models]]
name = "simple-cnn"
kwargs = { width = 8, hidden = 32 }
"""


def _workers_of(driver: int) -> list[int]:
    """Live worker processes whose parent is `driver` (zombies have exited)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                command = f.read()
        except OSError:
            continue
        state, parent = fields[0], int(fields[1])
        if parent == driver and state != "Z" and b"cnnlab.studies.worker" in command:
            found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_killed_driver_takes_its_workers_with_it(tmp_path):
    study, out = tmp_path / "long.toml", tmp_path / "out"
    study.write_text(LONG_STUDY)
    driver = subprocess.Popen([sys.executable, "-m", "cnnlab", "run", str(study), "--out", str(out), "--workers", "2",
                               "--cpus-per-run", "1", "--device", "cpu", "--quiet", "--no-report"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and driver.poll() is None:
            workers = _workers_of(driver.pid)
            if len(workers) == 2 and list(out.glob("runs/*/checkpoint.pt")):
                break  # both started, and training is under way
            time.sleep(0.1)
        assert len(workers) == 2 and driver.poll() is None, "the workers never started training"
        driver.send_signal(signal.SIGKILL)  # the driver only: no chance to clean up
        driver.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(map(_alive, workers)):
            time.sleep(0.1)
        assert not any(map(_alive, workers)), "workers outlived their driver"
        before = snapshot(out)
        time.sleep(2)
        assert snapshot(out) == before, "something still writes into the output directory"
    finally:  # whatever the outcome, leave no process behind
        for pid in [driver.pid, *workers]:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ray_address_where_nothing_listens_fails_at_once(cli, tmp_path):
    pytest.importorskip("ray")
    (tmp_path / "s.toml").write_text(LONG_STUDY)
    started = time.monotonic()
    code, stdout, stderr = cli("run", tmp_path / "s.toml", "--out", tmp_path / "out", "--executor", "ray",
                               "--ray-address", f"127.0.0.1:{_closed_port()}")
    assert time.monotonic() - started < 15
    assert code == 2 and stdout == "" and stderr.count("\n") == 1 and stderr.startswith("error: "), stderr
    assert "nothing answers there" in stderr
    assert not (tmp_path / "out").exists()


def test_ray_address_where_something_else_listens_gives_up_in_bounded_time(tmp_path):
    """A port that accepts connections but never speaks Ray: ray.init would wait for ever.
    The bound is shortened from the test side to keep the test quick."""
    pytest.importorskip("ray")
    (tmp_path / "s.toml").write_text(LONG_STUDY)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        script = textwrap.dedent(f"""
            import cnnlab.studies.executors as executors
            executors.RAY_CONNECT_SECONDS = 3
            from cnnlab.cli import main
            raise SystemExit(main(["run", "s.toml", "--out", "out", "--executor", "ray",
                                   "--ray-address", "127.0.0.1:{listener.getsockname()[1]}"]))
        """)
        result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
                                timeout=120)
    assert result.returncode == 2, result.stderr
    # Ray's own C++ threads may still log a connection retry ("[date time W ...] ...") after it.
    ours = [line for line in result.stderr.strip().splitlines() if not line.startswith("[")]
    assert len(ours) == 1 and ours[0].startswith("error: ") and "no answer within 3 s" in ours[0], result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()
