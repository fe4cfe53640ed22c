"""A worker process of `cnnlab run --workers N`: reads one job (JSON) on stdin, runs it, and
prints the run's summary as one JSON line on stdout for the driver."""

import json
import sys

from cnnlab.studies.executors import run_job

if __name__ == "__main__":
    summary = run_job(json.load(sys.stdin))
    print(json.dumps(summary), flush=True)
