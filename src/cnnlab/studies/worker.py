"""A worker process of `cnnlab run --workers N`: reads one job (JSON) on stdin, runs it, and
prints the run's summary as one JSON line on stdout for the driver.

A worker dies with its driver (`python -m cnnlab.studies.worker DRIVER_PID`): a killed
`cnnlab run` must not leave runs going on that nobody records, still writing into the
output directory while the user starts another study there.
"""

import ctypes
import json
import os
import signal
import sys
import threading
import time

from cnnlab.studies.executors import run_job

PR_SET_PDEATHSIG = 1  # linux/prctl.h
WATCH_SECONDS = 1.0


def die_with_parent(parent_pid: int):
    """On Linux the kernel sends SIGKILL when the parent exits (prctl PR_SET_PDEATHSIG);
    elsewhere, and as a fallback, a thread exits once the parent is gone (re-parented)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)

    def parent_gone() -> bool:
        return os.getppid() != parent_pid

    if parent_gone():  # the driver died before prctl took effect
        os._exit(1)

    def watch():
        while not parent_gone():
            time.sleep(WATCH_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


if __name__ == "__main__":
    if len(sys.argv) > 1:
        die_with_parent(int(sys.argv[1]))
    summary = run_job(json.load(sys.stdin))
    print(json.dumps(summary), flush=True)
