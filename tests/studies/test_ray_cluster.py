"""The Ray executor against real Ray clusters, nothing mocked: `cnnlab run --executor ray`
starting a local cluster of its own, and `--ray-address` joining a cluster that the test
starts with `ray start --head` (and stops). Each `cnnlab run` is a process of its own, as
a user runs it, so no Ray state is left in the test process.

Every cluster lives in a temporary RAY_TMPDIR (so `ray.init()` cannot join another
cluster on this machine) and uses token authentication with a token of the test's own
(RAY_AUTH_TOKEN), never ~/.ray's."""

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.ray

pytest.importorskip("ray")

STUDY_ARGS = dict(models=("fc",), seeds=2, epochs=1, subset=128, analyses=())


@pytest.fixture
def ray_env():
    """The environment of a private Ray: its own temp dir (short: Ray puts sockets in it)."""
    tmp = tempfile.mkdtemp(prefix="ray", dir="/tmp")
    env = {**os.environ, "RAY_TMPDIR": tmp, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32),
           "RAY_USAGE_STATS_ENABLED": "0", "OMP_NUM_THREADS": "1"}
    env.pop("RAY_ADDRESS", None)
    yield env
    _stop_processes_of(tmp)
    shutil.rmtree(tmp, ignore_errors=True)


def _processes_of(tmp: str) -> list[int]:
    """Processes whose command line names this test's Ray temp dir: its cluster's."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if tmp.encode() in f.read():
                        pids.append(int(entry))
            except OSError:
                pass
    return pids


def _stop_processes_of(tmp: str):
    for pid in _processes_of(tmp):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _cnnlab_run(study, out, env, *extra):
    return subprocess.run([sys.executable, "-m", "cnnlab", "run", str(study), "--out", str(out), "--executor", "ray",
                           "--cpus-per-run", "1", "--no-report", *extra], capture_output=True, text=True, env=env,
                          timeout=420)


def _statuses(out) -> list[str]:
    return sorted((run / "status").read_text().strip() for run in (Path(out) / "runs").iterdir())


def test_a_study_on_a_new_local_ray_cluster(write_study, tmp_path, ray_env):
    result = _cnnlab_run(write_study(**STUDY_ARGS), tmp_path / "out", ray_env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert _statuses(tmp_path / "out") == ["done", "done"]
    assert result.stdout.count(": done") == 2
    # Ray says nothing on its own (before: "[...] logging.cc:303: Set ray log level from environment variable").
    assert "logging.cc" not in result.stderr and "ray" not in result.stderr.lower(), result.stderr
    # The cluster went with the `cnnlab run` that started it.
    deadline = time.monotonic() + 60
    while _processes_of(ray_env["RAY_TMPDIR"]) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _processes_of(ray_env["RAY_TMPDIR"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def ray_head(ray_env, tmp_path):
    """`ray start --head --block` in a session of its own; stopped (SIGTERM, then SIGKILL to
    what is left of its process group and its cluster) after the test. Yields its address."""
    port = _free_port()
    log = open(tmp_path / "ray-head.log", "w")
    ray = Path(sys.executable).with_name("ray")
    head = subprocess.Popen([str(ray), "start", "--head", "--block", f"--port={port}", "--num-cpus=2",
                             "--include-dashboard=false", "--disable-usage-stats",
                             f"--ray-client-server-port={_free_port()}", f"--dashboard-port={_free_port()}",
                             f"--dashboard-agent-listen-port={_free_port()}"],
                            stdout=log, stderr=subprocess.STDOUT, env=ray_env, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while "Ray runtime started" not in (tmp_path / "ray-head.log").read_text():
            assert head.poll() is None, (tmp_path / "ray-head.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "ray start --head did not come up"
            time.sleep(0.5)
        yield f"127.0.0.1:{port}"
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        try:  # a few seconds to go on its own; a graceful stop of the whole cluster is not what is tested
            head.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(head.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        head.wait()
        log.close()


def test_a_study_on_a_ray_start_head_cluster(write_study, tmp_path, ray_env, ray_head):
    result = _cnnlab_run(write_study(**STUDY_ARGS), tmp_path / "out", ray_env, "--ray-address", ray_head)
    assert result.returncode == 0, result.stderr[-3000:]
    assert _statuses(tmp_path / "out") == ["done", "done"]
    assert result.stdout.count(": done") == 2


def test_ray_address_errors_name_cnnlabs_option(write_study, tmp_path, ray_env, cli, monkeypatch):
    """`auto` with no cluster running: Ray's own message names its `--address` flag."""
    for key in ("RAY_TMPDIR", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN"):
        monkeypatch.setenv(key, ray_env[key])
    code, _, stderr = cli("run", write_study(**STUDY_ARGS), "--out", tmp_path / "out", "--executor", "ray",
                          "--ray-address", "auto")
    assert code == 2 and stderr.startswith("error: cannot connect to Ray at auto: ") and stderr.count("\n") == 1
    assert "--ray-address" in stderr and "`--address`" not in stderr and " --address " not in stderr


def test_sigterm_stops_a_study_on_a_local_ray_cluster(write_study, tmp_path, ray_env):
    """ray.init sets a SIGTERM handler of its own (a bare exit 15); cnnlab keeps its meaning:
    one line, exit 143, and the cluster goes with the process."""
    study = write_study(models=("simple-cnn",), seeds=1, epochs=4, subset=1000, analyses=())
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "cnnlab", "run", str(study), "--out", str(out), "--executor", "ray",
                             "--cpus-per-run", "1", "--no-report"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=ray_env)
    deadline = time.monotonic() + 300
    while not list(out.glob("runs/*/checkpoint.pt")):  # the Ray task is training
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr[-3000:]
    assert "terminated" in stderr.splitlines() and "Traceback" not in stderr
    deadline = time.monotonic() + 60
    while _processes_of(ray_env["RAY_TMPDIR"]) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _processes_of(ray_env["RAY_TMPDIR"])
