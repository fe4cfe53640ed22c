"""Where a study's runs execute: one after another in this process (`local`), in N worker
processes on this machine (`local --workers N`), or as Ray tasks on a cluster (`ray`).

Every executor runs the same job function, `run_job`, which trains one run into its own
directory (a shared filesystem on a cluster) and returns the run's summary. Executors hand
those summaries back (a worker process prints its summary as one JSON line); the driver
alone writes the SQLite index, so concurrent runs never touch it.

A worker that dies (killed, out of memory) is retried once; the retry resumes from the
run's last checkpoint. If it dies again the run is marked failed and the study goes on.

A run that another process is running (another `cnnlab run` on the same OUT holds its
claim, see RunDir.claim) is put back after the others, with one line saying so; then the
executor waits for it and takes its result.

Results do not depend on the executor as long as each run gets the same number of CPU
threads (`threads`): float reductions split across a different number of threads round
differently, so `--cpus-per-run` fixes it for every executor alike.
"""

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from cnnlab.choices import EXECUTORS
from cnnlab.errors import UserError, first_line, say
from cnnlab.store.schema import FINAL_STATUSES, RunConfig
from cnnlab.store.rundir import RunDir

MAX_ATTEMPTS = 2  # the first try and one retry
RAY_PROBE_SECONDS = 5  # TCP connect to --ray-address
RAY_CONNECT_SECONDS = 30  # ray.init, once something answers there
# Set when a ray.init is left waiting in its helper thread: the interpreter's shutdown then
# crashes inside Ray (std::bad_alloc, SIGABRT), so the command line leaves without one.
ray_connect_abandoned = threading.Event()


def make_job(spec: RunConfig, run_dir, device, data_dir, download, inference_repeats, threads,
             sharing: int | None = 1) -> dict:
    """Everything a worker needs, as plain JSON: it may run on another machine, which sees
    the same paths (shared filesystem); relative paths are taken from the driver's cwd.
    `sharing`: how many runs may share this run's device at once (None: unknown)."""
    return {"spec": spec.to_json(), "spec_key": spec.key, "cwd": os.getcwd(), "sharing": sharing,
            "run_dir": os.path.abspath(run_dir), "device": str(device),
            "data_dir": os.path.abspath(data_dir) if data_dir else None, "download": download,
            "inference_repeats": inference_repeats, "threads": threads}


def run_job(job: dict, data=None) -> dict:
    """Execute one run described by `job`; returns its summary. Used by every executor."""
    import torch

    from cnnlab.studies.run_one import execute_run

    if job.get("cwd") and os.path.isdir(job["cwd"]):
        os.chdir(job["cwd"])  # for relative dataset paths such as imagefolder:photos
    if job.get("threads"):
        torch.set_num_threads(int(job["threads"]))
    spec = RunConfig.from_json(job["spec"])
    return execute_run(spec, job["run_dir"], job["device"], data=data, data_dir=job["data_dir"],
                       download=job["download"], verbosity=job.get("verbosity", "none"),
                       inference_repeats=job["inference_repeats"], sharing=job.get("sharing", 1),
                       on_message=lambda text: None,  # the driver already said why a run is redone
                       wait=job.get("wait", True))


def later(job: dict, summary: dict) -> dict:
    """`summary` says another process holds the run: say so, and return the job to run
    after the others, waiting for that process this time."""
    say(f"{summary['name']} ({summary['run_key']}): another cnnlab is running it ({summary['busy']}); "
        "waiting for it after the other runs, to use its result")
    return {**job, "wait": True}


def mark_failed(job: dict, reason: str) -> dict:
    """The worker died twice: record why in the run's own directory (the worker is gone),
    and return the run's summary as its files now say."""
    run = RunDir(job["run_dir"])
    if run.status() not in FINAL_STATUSES:
        run.write_error(reason, reason)
        run.set_status("failed")
    spec = job["spec"]  # the config file may never have been written
    return {**run.load().summary(), "label": spec["label"], "seed": spec["seed"], "cached": False, "resumed_from": 0}


class LocalExecutor:
    """One run at a time in this process; the dataset is loaded once and shared."""

    def __init__(self, data=None, verbosity="auto"):
        self.data, self.verbosity = data, verbosity

    def run(self, jobs):
        held = []
        for job in jobs:
            summary = run_job({**job, "verbosity": self.verbosity, "wait": False}, data=self.data)
            if "busy" in summary:
                held.append(later(job, summary))
                continue
            yield summary
        for job in held:
            yield run_job({**job, "verbosity": self.verbosity}, data=self.data)


class ProcessExecutor:
    """N worker processes on this machine (`python -m cnnlab.studies.worker`), one run each.
    With GPUs, worker slot i sees only GPU i (CUDA_VISIBLE_DEVICES), one run per GPU."""

    def __init__(self, workers: int, gpus: int = 0):
        self.workers = workers
        self.gpus = gpus

    def _start(self, job, slot):
        env = dict(os.environ)
        if self.gpus:
            env["CUDA_VISIBLE_DEVICES"] = str(slot % self.gpus)
            job = {**job, "device": "cuda"}
        # Output to files, not pipes: a chatty worker must never block on a full pipe.
        out, log = tempfile.TemporaryFile(mode="w+"), tempfile.TemporaryFile(mode="w+")
        proc = subprocess.Popen([sys.executable, "-m", "cnnlab.studies.worker", str(os.getpid())],
                                stdin=subprocess.PIPE, stdout=out, stderr=log, env=env, text=True)
        proc.stdin.write(json.dumps(job))
        proc.stdin.close()
        proc.out, proc.log = out, log
        return proc

    def run(self, jobs):
        pending = [({**job, "wait": False}, 1) for job in jobs]
        running = {}  # slot -> (proc, job, attempt)
        while pending or running:
            for slot in range(self.workers):
                if slot not in running and pending:
                    job, attempt = pending.pop(0)
                    running[slot] = (self._start(job, slot), job, attempt)
            time.sleep(0.1)
            for slot, (proc, job, attempt) in list(running.items()):
                if proc.poll() is None:
                    continue
                del running[slot]
                proc.out.seek(0)
                summary = proc.out.read().strip()  # the worker's last line: its run's summary
                proc.log.seek(0)
                stderr = proc.log.read().strip()
                proc.out.close()
                proc.log.close()
                if proc.returncode == 0 and summary:
                    result = json.loads(summary.splitlines()[-1])
                    if "busy" in result:
                        pending.append((later(job, result), attempt))
                        continue
                    yield result
                elif attempt < MAX_ATTEMPTS:
                    pending.insert(0, (job, attempt + 1))  # resumes from its checkpoint
                else:
                    last = stderr.splitlines()[-1] if stderr else f"exit code {proc.returncode}"
                    yield mark_failed(job, f"worker died {MAX_ATTEMPTS} times: {last}")


class RayExecutor:
    """Each run is a Ray task: one GPU when the cluster has GPUs, else `cpus_per_run` CPUs.
    Ray re-runs a task whose worker process died once (max_retries=1)."""

    def __init__(self, address=None, cpus_per_run: int = 1):
        try:
            import ray
        except ImportError:
            raise UserError('the Ray executor needs Ray: pip install -e ".[ray]" (or pip install "ray[default]")') from None
        self.ray = ray
        if not ray.is_initialized():
            _connect_ray(ray, address)
        self.cpus_per_run = cpus_per_run

    def run(self, jobs):
        ray = self.ray
        gpus = ray.cluster_resources().get("GPU", 0)
        options = {"num_gpus": 1, "num_cpus": 1} if gpus else {"num_cpus": self.cpus_per_run}
        task = ray.remote(max_retries=MAX_ATTEMPTS - 1, retry_exceptions=False, **options)(run_job)
        refs = {}
        for job in jobs:
            if gpus:
                job = {**job, "device": "cuda"}
            job = {**job, "wait": False}
            refs[task.remote(job)] = job
        while refs:
            done, _ = ray.wait(list(refs), num_returns=1)
            job = refs.pop(done[0])
            try:
                result = ray.get(done[0])
            except Exception as e:  # the task's worker died on every attempt
                yield mark_failed(job, f"Ray task failed {MAX_ATTEMPTS} times: {first_line(e)}")
                continue
            if "busy" in result:
                job = later(job, result)
                refs[task.remote(job)] = job
                continue
            yield result


# Ray's own INFO and WARNING lines (starting a cluster, connecting, its signal handlers) would
# surround cnnlab's one-line messages; its errors still show.
RAY_INIT = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.ERROR}


def _connect_ray(ray, address):
    """ray.init. Without an address (nor RAY_ADDRESS) Ray starts a local cluster, or joins the
    one last started on this machine: that runs in this thread, because the processes Ray
    starts die with the thread that started them (their parent-death signal is tied to
    it), so a cluster started from a short-lived helper thread stops a second later.
    Connecting to an address starts no process and is bounded in time, as Ray retries an
    address where nothing answers for ever: a host:port is first probed with a plain TCP
    connection (refused: fail at once), then ray.init gets RAY_CONNECT_SECONDS in a helper
    thread before the study gives up."""
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address in (None, "local"):
        sigterm = signal.getsignal(signal.SIGTERM)
        try:
            ray.init(address=address, **RAY_INIT)
        except Exception as e:
            raise UserError(f"cannot start a local Ray cluster: {_ray_reason(e)}") from None
        finally:  # ray.init sets its own (a bare exit); SIGTERM keeps cnnlab's meaning (cnnlab.interrupts)
            if sigterm is not None and threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGTERM, sigterm)
        return
    if address != "auto":
        host, _, port = address.removeprefix("ray://").rpartition(":")
        if not host or not port.isdigit():
            raise UserError(f"--ray-address {address!r}: expected HOST:PORT, ray://HOST:PORT or auto")
        try:
            socket.create_connection((host.strip("[]"), int(port)), timeout=RAY_PROBE_SECONDS).close()
        except OSError as e:
            raise UserError(f"cannot connect to Ray at {address}: nothing answers there ({first_line(e)}); "
                            "start the cluster with `ray start --head` or check the address") from None
    failure = []

    def init():
        try:
            ray.init(address=address, **RAY_INIT)
        except Exception as e:  # reported by the caller, in its own thread
            failure.append(e)

    thread = threading.Thread(target=init, name="ray-connect", daemon=True)
    thread.start()
    thread.join(RAY_CONNECT_SECONDS)
    if thread.is_alive():
        ray_connect_abandoned.set()
        raise UserError(f"cannot connect to Ray at {address}: no answer within {RAY_CONNECT_SECONDS} s "
                        "(is it a Ray cluster's address?)")
    if failure:
        hint = ""
        if "RAY_AUTH_MODE" not in os.environ and isinstance(failure[0], ConnectionError):
            hint = ("; if the cluster uses token authentication (Ray's default for `ray start` since 2.59), "
                    "set RAY_AUTH_MODE=token here too")
        raise UserError(f"cannot connect to Ray at {address}: {_ray_reason(failure[0])}{hint}")


def _ray_reason(e: Exception) -> str:
    """Ray's message, naming cnnlab's option where it names ray.init's ("`--address` flag");
    a `ray start --address=...` it suggests stays as it is."""
    return re.sub(r"`--address`( flag)?|(?<![\w-])--address flag", "--ray-address", first_line(e))


def make_executor(name: str, workers: int = 1, ray_address=None, cpus_per_run: int = 1, device=None,
                  data=None, verbosity="auto"):
    if name not in EXECUTORS:
        raise UserError(f"unknown executor {name!r}; valid: {', '.join(EXECUTORS)}")
    if name == "ray":
        return RayExecutor(ray_address, cpus_per_run)
    if workers > 1:
        import torch

        gpus = torch.cuda.device_count() if device is not None and str(device).startswith("cuda") else 0
        return ProcessExecutor(workers, gpus)
    return LocalExecutor(data, verbosity)
