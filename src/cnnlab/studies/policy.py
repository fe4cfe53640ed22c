"""How many runs go at once and how many CPU threads each gets, where the caller does not
say: one policy for every way in (`cnnlab run`, `cnnlab run all`, `cnnlab train`,
`cnnlab.run`, `cnnlab.train_model`, `run_study`), applied by the runner.

It has to be one: the CPU threads of a run are part of its key (float sums split over
another number of threads round differently, cnnlab.studies.plan.runtime), so two callers
with two policies would compute different keys for the same settings and retrain each
other's runs.

- On the CPU: one run at a time using every core; with the quick or reference profile, one
  single-threaded run per core instead (on a small CPU two one-thread runs side by side
  train more images per second than one two-thread run, and they do not stall when another
  program takes a core).
- On GPUs: small runs share each GPU, up to RUNS_PER_GPU and what its free memory holds.
- Under Ray: one run per task, one CPU thread each (Ray schedules them).
Explicit `workers` and `cpus_per_run` always win.
"""

import os
from dataclasses import dataclass

RUNS_PER_GPU = 4  # beyond this, runs of the studies' small models stop adding throughput on one GPU
GPU_HEADROOM = 2 * 2**30  # per run on top of its dataset: CUDA context, activations, graph pool
CPU_PROFILES = ("quick", "reference")  # the profiles sized for a small CPU: one single-threaded run per core


@dataclass(frozen=True)
class Parallelism:
    workers: int  # runs at once (local executor: worker processes when > 1)
    threads: int  # CPU threads of each run
    sharing: int | None  # runs that may share one device at a time (None: unknown, as under Ray)


def cpu_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def default_threads(executor: str, workers: int) -> int:
    """Threads per run when cpus_per_run is not given: the machine's cores shared evenly."""
    return max(1, cpu_cores() // max(1, workers)) if executor == "local" else 1


def requested(profile: str, device, executor: str, workers, cpus_per_run) -> tuple[int | None, int | None]:
    """Workers and threads per run as far as they follow from the request alone (no data
    needed): what the caller gave, or for CPU_PROFILES on a CPU one single-threaded
    worker per core; None where the runner decides (`parallelism_for`)."""
    if workers is not None or executor != "local" or cpus_per_run is not None or profile not in CPU_PROFILES:
        return workers, cpus_per_run
    if str(device).split(":")[0] != "cpu":
        return None, None
    return default_threads("local", 1), 1  # all the cores, one worker each


def default_workers(executor: str, device, data, runs: int) -> int:
    """Runs at once when nothing says otherwise: one on the CPU (its cores go to one run's
    threads); on GPUs, small runs share each GPU, up to RUNS_PER_GPU and what its free
    memory holds (each run keeps its own copy of the dataset on the GPU)."""
    import torch

    if executor != "local" or str(device).split(":")[0] != "cuda":
        return 1
    data_bytes = sum(t.numel() * t.element_size() for t in (data.train_images, data.train_labels,
                                                             data.test_images, data.test_labels))
    free, _ = torch.cuda.mem_get_info()
    per_gpu = max(1, min(RUNS_PER_GPU, free // (data_bytes + GPU_HEADROOM)))
    return max(1, min(runs, per_gpu * torch.cuda.device_count()))


def runs_per_device(executor: str, workers: int, device) -> int | None:
    """How many runs may train on one device at the same time (None: unknown, as under Ray)."""
    if executor == "ray":
        return None
    if str(device).split(":")[0] == "cuda" and workers > 1:
        import torch

        return -(-workers // max(1, torch.cuda.device_count()))
    return workers


def parallelism_for(profile: str, device, executor: str, workers, cpus_per_run, data, runs: int) -> Parallelism:
    """Everything the policy fills in for one study on `device` (resolved) with `data` loaded."""
    workers, cpus_per_run = requested(profile, device, executor, workers, cpus_per_run)
    if workers is None:
        workers = default_workers(executor, device, data, runs)
    threads = cpus_per_run or default_threads(executor, workers)
    return Parallelism(workers=workers, threads=threads, sharing=runs_per_device(executor, workers, device))
