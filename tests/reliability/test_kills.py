"""SIGKILL at every write of a run, before and after the atomic rename, then run the study
again: the final results (metrics rows, status, analysis, activations, index rows,
study.json) equal those of a run that was never interrupted, and no temporary file is
left behind.

The kills come from outside the product code: forkserver.py wraps `os.replace` (through
which every result file is renamed into place) or the index's upsert, in a forked
`cnnlab run` process that SIGKILLs itself at the chosen moment."""

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from .conftest import RUN_OPTIONS, final_results

pytestmark = pytest.mark.process

# Every write of one 2-epoch run, in the order they happen: (file, which write of it,
# the run line's note on the re-run if killed before the rename, and if killed after).
FRESH, CACHED = "", "(cached)"
WRITES = [
    ("study.json", 1, FRESH, FRESH),  # the study's first study.json, before any run
    ("config.json", 1, FRESH, FRESH),
    ("metrics.jsonl", 1, FRESH, FRESH),  # the empty metrics.jsonl of a fresh start
    ("checkpoint.pt", 1, FRESH, "resumed after epoch 1"),  # commits epoch 1
    ("metrics.jsonl", 2, "resumed after epoch 1", "resumed after epoch 1"),  # epoch 1's rows
    ("checkpoint.pt", 2, "resumed after epoch 1", "resumed after epoch 2"),  # commits the last epoch
    ("metrics.jsonl", 3, "resumed after epoch 2", "resumed after epoch 2"),
    ("activations.npz", 1, "resumed after epoch 2", "resumed after epoch 2"),
    ("analysis.json", 1, "resumed after epoch 2", "resumed after epoch 2"),
    ("status", 1, "resumed after epoch 2", CACHED),
    ("study.json", 2, CACHED, CACHED),  # after the run, with its status
    ("study.json", 3, CACHED, CACHED),  # the finished study
]
KILLS = {f"{name} #{nth} {when} rename": ({"file": name, "nth": nth, "when": when}, note)
         for name, nth, before, after in WRITES for when, note in (("before", before), ("after", after))}
KILLS.update({f"index upsert {when}": ({"index": when, "nth": 1}, CACHED) for when in ("before", "during", "after")})


class ForkServer:
    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("forkserver.py"))],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def run(self, argv, kill: dict, cwd: Path) -> dict:
        """`cnnlab ARGV` in a forked child with `kill` armed; its exit and output."""
        job = {"argv": [str(a) for a in argv], "kill": kill, "cwd": str(cwd),
               "stdout": str(cwd / "killed.out"), "stderr": str(cwd / "killed.err")}
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, "the fork server died"
        answer = json.loads(line)
        answer["stderr"] = (cwd / "killed.err").read_text()
        return answer

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


@pytest.fixture(scope="module")
def forkserver():
    server = ForkServer()
    yield server
    server.close()


def _killed(forkserver, argv, kill, cwd):
    answer = forkserver.run(argv, kill, cwd)
    assert answer["signal"] == signal.SIGKILL, f"never reached {kill}: {answer}"


@pytest.mark.parametrize("point", list(KILLS))
def test_killed_at_a_write_then_run_again_equals_an_uninterrupted_run(point, forkserver, reference, cli, tmp_path):
    kill, note = KILLS[point]
    study, _, expected = reference
    argv = ["run", study, "--out", tmp_path / "out", *RUN_OPTIONS]
    _killed(forkserver, argv, kill, tmp_path)

    code, stdout, stderr = cli(*argv)
    assert code == 0 and "Traceback" not in stderr, stderr
    (line,) = [line for line in stdout.splitlines() if line.startswith("[1/1]")]
    if note:
        assert line.endswith(f"({note})" if note != CACHED else note), line
    else:
        assert not line.endswith(")"), line  # trained from the start
    assert final_results(tmp_path / "out") == expected


def test_killed_again_while_recovering(forkserver, reference, cli, tmp_path):
    """Killed in the last epoch's window, then the resume killed after its activations,
    then the next run killed before its index row commits: the fourth run still ends
    with the uninterrupted numbers."""
    study, _, expected = reference
    argv = ["run", study, "--out", tmp_path / "out", *RUN_OPTIONS]
    for kill in ({"file": "checkpoint.pt", "nth": 2, "when": "after"},
                 {"file": "activations.npz", "nth": 1, "when": "after"},
                 {"index": "during", "nth": 1}):
        _killed(forkserver, argv, kill, tmp_path)
    code, _, stderr = cli(*argv)
    assert code == 0, stderr
    assert final_results(tmp_path / "out") == expected


def test_every_write_of_a_run_is_covered(reference, cli, tmp_path, monkeypatch):
    """The kill table lists every file a run writes, as many times as it writes it: a new
    result file (or another write of one) needs kill tests of its own."""
    study, _, _ = reference
    writes, real_replace = Counter(), os.replace

    def counting_replace(src, dst, *args, **kwargs):
        writes[os.path.basename(dst)] += 1
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", counting_replace)
    assert cli("run", study, "--out", tmp_path / "out", *RUN_OPTIONS)[0] == 0
    assert writes == Counter({name: nth for name, nth, _, _ in WRITES})  # the last write of each counts
