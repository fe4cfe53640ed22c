"""Two `cnnlab run` on one --out train each run once (each run is claimed with a lock next to
it, RunDir.claim), and SIGTERM ends a run as Ctrl-C does: the write in flight finished,
one line, exit 143 (130 for Ctrl-C)."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cnnlab.interrupts import Terminated, handled, uninterrupted
from cnnlab.store.rundir import RunBusy, RunDir
from cnnlab.store.schema import RUNS_DIR

pytestmark = pytest.mark.process(seconds=20)  # each test starts two or more cnnlab processes

RUNS = 4  # 2 models x 2 seeds


def _cnnlab(study, out, **popen):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "cnnlab", "run", str(study), "--out", str(out), "--device", "cpu",
                             "--cpus-per-run", "1", "--no-report", "--quiet"], text=True, env=env, **popen)


def _run_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("[") and "] " in line]


def _statuses(out) -> dict:
    return {run.name: (run / "status").read_text().strip() for run in (Path(out) / "runs").iterdir()}


def test_two_invocations_on_one_out_train_each_run_once(write_study, tmp_path):
    study = write_study(models=["fc", "simple-cnn"], seeds=2, epochs=2, subset=512, analyses=["overfitting"])
    out = tmp_path / "out"
    procs = [_cnnlab(study, out, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    results = [p.communicate(timeout=600) for p in procs]
    for proc, (stdout, stderr) in zip(procs, results):
        assert proc.returncode == 0, stderr
        assert len(_run_lines(stdout)) == RUNS  # each lists every run: trained, or the other's result reused
    trained = [line for stdout, _ in results for line in _run_lines(stdout) if "(cached)" not in line]
    assert len(trained) == RUNS, "\n".join(trained)  # no run trained twice
    assert sorted(_statuses(out).values()) == ["done"] * RUNS
    for run in (out / RUNS_DIR).iterdir():
        record = RunDir(run).load()
        assert record.usable and len(record.metrics) == 2, record.problems
    # The manifest does not call the other invocation's runs "earlier" (before: "reused from earlier invocations").
    from cnnlab.report import render_report
    from cnnlab.store.schema import read_study

    (study_dir,) = (out / "studies").iterdir()
    md = render_report(study_dir, dpi=30)[0].read_text(encoding="utf-8")
    cached = read_study(study_dir / "study.json").manifest.runs_cached
    assert f"{cached} reused (trained by an earlier or concurrent cnnlab run)" in md
    # Whoever found a run held by the other said so, and then reused that run's result.
    for stdout, stderr in results:
        for line in stderr.splitlines():
            if "another cnnlab is running it" in line:
                name = line.split(" (", 1)[0]  # "fc seed 0"
                (shown,) = [s for s in _run_lines(stdout) if f"] {name}: " in s]
                assert "(cached)" in shown, (line, shown)


def test_a_run_held_by_another_process_is_waited_for_and_reused(write_study, tmp_path):
    """This test holds one run's claim, as another `cnnlab run` would while training it; the
    run's files are those of a finished run, less its status (still in progress)."""
    study = write_study(models=["fc"], seeds=2, epochs=1, subset=128, analyses=[])
    out = tmp_path / "out"
    first = _cnnlab(study, out, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert first.wait(timeout=300) == 0
    run = RunDir(sorted((out / "runs").iterdir())[0])
    seed = run.load().config.seed
    (run.path / "status").unlink()
    checkpoint = (run.path / "checkpoint.pt").stat().st_mtime_ns
    log = tmp_path / "stderr.txt"
    with run.claim(wait=False):
        with open(log, "w") as err:
            second = _cnnlab(study, out, stdout=subprocess.PIPE, stderr=err)
        deadline = time.monotonic() + 300
        while "another cnnlab" not in log.read_text():
            assert second.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        time.sleep(1)
        assert second.poll() is None  # it waits for the run
        (run.path / "status").write_text("done\n")  # the other process finished the run
    stdout, _ = second.communicate(timeout=300)
    assert second.returncode == 0
    (line,) = [line for line in log.read_text().splitlines() if line.strip()]
    assert line == (f"fc seed {seed} ({run.key}): another cnnlab is running it (pid {os.getpid()} on "
                    f"{socket.gethostname()}); waiting for it after the other runs, to use its result")
    assert all("(cached)" in line for line in _run_lines(stdout))  # its result, not trained again
    assert (run.path / "checkpoint.pt").stat().st_mtime_ns == checkpoint


def test_a_claim_is_released_when_its_process_dies(tmp_path):
    run = RunDir(tmp_path / "run")
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\n"
                               "from cnnlab.store.rundir import RunDir\n"
                               f"with RunDir({str(run.path)!r}).claim():\n"
                               "    print('held', flush=True); time.sleep(600)"],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "held\n"
    with pytest.raises(RunBusy, match=f"pid {holder.pid} on "):
        with run.claim(wait=False):
            pass
    holder.kill()
    holder.wait()
    with run.claim(wait=False):  # the kernel dropped the dead process's lock
        assert run.holder() == f"pid {os.getpid()} on {socket.gethostname()}"


@pytest.mark.parametrize("sig, code, line", [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")])
def test_sigterm_ends_a_run_like_ctrl_c(write_study, tmp_path, sig, code, line):
    study = write_study(models=["simple-cnn"], seeds=1, epochs=4, subset=1000, analyses=[])
    out = tmp_path / "out"
    proc = _cnnlab(study, out, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while not list(out.glob("runs/*/checkpoint.pt")):  # training, one epoch committed
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == code, stderr
    assert stderr.splitlines()[-1] == line and "Traceback" not in stderr
    assert not list(out.rglob(".*.tmp"))  # no write was cut short
    (run,) = (out / "runs").iterdir()
    assert not (run / "status").exists()  # interrupted, not failed
    again = _cnnlab(study, out, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout, stderr = again.communicate(timeout=600)
    assert again.returncode == 0 and "resumed after epoch" in stdout, stderr


def test_a_signal_inside_a_write_waits_for_it(tmp_path):
    """The real handlers and a real SIGTERM, sent while a write is in flight."""
    done, before = [], signal.getsignal(signal.SIGTERM)
    with pytest.raises(Terminated):
        with handled():
            with uninterrupted():
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(0.1)  # the handler has run by now
                done.append("the write finished")
    assert done == ["the write finished"]
    assert signal.getsignal(signal.SIGTERM) == before  # handlers restored
