"""A worker process of `cnnlab run --workers N`: reads one job (JSON) on stdin and runs it."""

import json
import sys

from cnnlab.studies.executors import run_job

if __name__ == "__main__":
    run_job(json.load(sys.stdin))
