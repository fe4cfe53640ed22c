"""Runs `cnnlab` commands that SIGKILL themselves at a chosen write, for the kill tests.

Started once per test session (`python forkserver.py`), it imports cnnlab and torch and
then, for each job read from stdin (one JSON line), forks a child that arms the kill and
calls `cnnlab.cli.main(argv)`. Forking skips the seconds of imports per kill; the server
itself never runs a torch operation, so every child starts from a clean state. For each
job it answers one JSON line: the child's exit code, or the signal that ended it.

A kill is armed from outside the product code, by wrapping what it calls:
- {"file": NAME, "nth": N, "when": "before" | "after"}: the N-th `os.replace` onto a file
  called NAME (every result file is written to a temporary file, then renamed into place);
  "before" kills with the new content complete in the temporary file, "after" right after
  the rename;
- {"index": "before" | "during" | "after", "nth": N}: the N-th index upsert; "during" kills
  after the row is written but before the transaction commits.
"""

import json
import os
import signal
import sys

os.environ["OMP_NUM_THREADS"] = "1"  # before torch: the server must never start a thread pool

import cnnlab.analyses.activations.measure  # noqa: E402,F401  (everything a run imports, loaded once)
import cnnlab.analyses.confusion.measure  # noqa: E402,F401
import cnnlab.analyses.grad_flow.measure  # noqa: E402,F401
import cnnlab.analyses.overfitting.measure  # noqa: E402,F401
import cnnlab.models.cost  # noqa: E402,F401
import cnnlab.analyses.receptive_field.measure  # noqa: E402,F401
import cnnlab.studies.analyse  # noqa: E402,F401
import cnnlab.studies.runner  # noqa: E402,F401
from cnnlab.cli import main  # noqa: E402
from cnnlab.fingerprint import code_fingerprint  # noqa: E402
from cnnlab.plugins import analysis_names  # noqa: E402
from cnnlab.store.index import RunIndex  # noqa: E402


def die():
    os.kill(os.getpid(), signal.SIGKILL)


def arm_file_kill(name: str, nth: int, when: str):
    real_replace = os.replace
    seen = 0

    def replace(src, dst, *args, **kwargs):
        nonlocal seen
        hit = False
        if os.path.basename(dst) == name:
            seen += 1
            hit = seen == nth
        if hit and when == "before":
            die()
        real_replace(src, dst, *args, **kwargs)
        if hit and when == "after":
            die()

    os.replace = replace


class _DieBeforeCommit:
    """Stands in for the index's connection during one upsert: statements run, the
    commit at the end of `with conn:` never happens."""

    def __init__(self, conn):
        self.conn = conn

    def execute(self, *args, **kwargs):
        return self.conn.execute(*args, **kwargs)

    def __enter__(self):
        self.conn.__enter__()
        return self

    def __exit__(self, *exc):
        die()


def arm_index_kill(when: str, nth: int):
    real_upsert = RunIndex.upsert
    seen = 0

    def upsert(self, row):
        nonlocal seen
        seen += 1
        if seen != nth:
            return real_upsert(self, row)
        if when == "before":
            die()
        if when == "during":
            self.conn = _DieBeforeCommit(self.conn)
        real_upsert(self, row)
        die()  # "after": the row is committed

    RunIndex.upsert = upsert


def child(job: dict):
    os.chdir(job["cwd"])
    for fd, path in ((1, job["stdout"]), (2, job["stderr"])):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(target, fd)
        os.close(target)
    kill = job["kill"]
    if "file" in kill:
        arm_file_kill(kill["file"], kill["nth"], kill["when"])
    else:
        arm_index_kill(kill["index"], kill["nth"])
    try:
        code = main(job["argv"])
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 99
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def warm_up():
    """What every run loads on first use, loaded once here rather than in every child: the
    plug-ins, the source digests of their measurements, and torch's compiler stack (the
    optimizer's first step and the shape check on the meta device import it). No torch
    operation runs."""
    import torch._dynamo  # noqa: F401
    import torch.fx.experimental.symbolic_shapes  # noqa: F401

    code_fingerprint(tuple(analysis_names()))


def serve():
    warm_up()
    for line in sys.stdin:
        job = json.loads(line)
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            child(job)
        _, status = os.waitpid(pid, 0)
        answer = {"signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
                  "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    serve()
