"""One run, start to finish: `execute_run(spec, run_dir, device)` returns its summary.

It writes only inside its own run directory and reads nothing shared, so runs can go to
worker processes as they are; the study driver (runner.py) alone writes the index and
study.json, from the summaries the executors hand back.

- A run whose directory holds a finished result of the same config, whose records load
  and check against the schema, is reused (`reused_summary`, the one place that decides).
  A finished run with damaged records is run again (resuming from its checkpoint when that
  is intact), with one line saying why.
- An interrupted run resumes: the trainer reloads checkpoint.pt (its last complete epoch).
- A run that raises is marked `failed` with the reason in error.txt; it never stops the others.
- Each run is claimed while it executes (RunDir.claim): a second `cnnlab run` on the same
  OUT waits for it and reuses its result instead of training it twice.
- A run whose record files cannot be written (a folder where metrics.jsonl goes) is marked
  `failed` without training, with the reason.
- Every run writes TensorBoard event files as it trains (cnnlab.train.tensorboard).
- A tuning run (role "tune") trains on its validation split's rest of the training images and
  is scored on the split (`run_data`): the test images are not in the data it gets.
"""

import json
import math
import traceback

import torch

from cnnlab.version import __version__
from cnnlab.data.splits import holdout
from cnnlab.errors import say
from cnnlab.fingerprint import git_provenance
from cnnlab.store.rundir import RunBusy, RunDir
from cnnlab.store.schema import FINAL_STATUSES, RunConfig, RunRecord


def load_run_data(dataset: str, subset: int | None, test_subset: int | None = None, data_dir=None,
                  download: bool = True):
    from cnnlab.data import load_dataset

    data = load_dataset(dataset, data_dir=data_dir, download=download)
    return data.subset(subset, test_subset) if subset or test_subset else data


def run_data(spec: RunConfig, data=None, data_dir=None, download: bool = True):
    """The data `spec` trains and is scored on: its dataset with its subsets, and for a tuning
    run the validation split of the training images in place of the test images. `data`: that
    data already loaded (a tuning run's must be its split, or the run refuses it)."""
    split = (spec.validation["fraction"], spec.validation["seed"]) if spec.role == "tune" else None
    if data is None:
        data = load_run_data(spec.dataset, spec.subset, spec.test_subset, data_dir, download)
        return holdout(data, *split) if split else data
    if data.validation != split:
        raise ValueError(f"{spec.name} is a {spec.role} run but got data {'with' if data.validation else 'without'} "
                         f"a validation split ({data.validation} vs {split})")
    return data


def provenance() -> dict:
    """What config.json records about the software besides the run's identity."""
    return {"cnnlab_version": __version__, "git": git_provenance()}


def _as_json(obj):
    return json.loads(json.dumps(obj))


def reuse_problem(spec: RunConfig, record: RunRecord) -> str | None:
    """None when `record` is a finished, intact result of `spec`; else why it is not
    (an empty string when there is simply no finished result yet)."""
    if record.status not in FINAL_STATUSES:
        return ""
    if record.config is None or _as_json(record.config.identity()) != _as_json(spec.identity()):
        return record.problems[0] if record.problems else "its config.json describes another run"
    return record.problems[0] if record.problems else None


def reused_summary(spec: RunConfig, run: RunDir, on_message=say) -> dict | None:
    """The one reuse decision, made by the study driver before it hands out a run and again
    by the run itself as it starts (another invocation may have finished it meanwhile): the
    summary of `spec`'s finished, intact result in `run`, or None. A finished-looking result
    that cannot be reused is run again, and `on_message(text)` hears why."""
    record = run.load()
    problem = reuse_problem(spec, record)
    if problem is None:
        return {**record.summary(), "label": spec.label, "cached": True, "resumed_from": 0}
    if problem:
        on_message(f"{spec.name} ({run.key}): {problem}; running it again")
    return None


def blocked_reason(run: RunDir) -> str | None:
    """Why this run cannot be (re)run at all, said once by the driver and recorded as its failure."""
    blocked = run.blocked()
    return f"{blocked}; move it away to run it again" if blocked else None


def _fail_blocked(spec: RunConfig, run: RunDir, reason: str) -> dict:
    """The run is failed without training: its reason in error.txt and status, where those
    can be written (one of them may be what blocks it)."""
    for write in (lambda: run.write_error(reason), lambda: run.set_status("failed")):
        try:
            write()
        except OSError:
            pass
    failed = RunRecord(key=run.key, status="failed", config=spec, error=reason)
    return {**failed.summary(), "cached": False, "resumed_from": 0}


def execute_run(spec: RunConfig, run_dir, device="auto", data=None, data_dir=None, download: bool = True,
                verbosity: str = "none", inference_repeats: int = 30, on_message=None, sharing: int | None = 1,
                wait: bool = True) -> dict:
    """Train and analyse one run unless it is already finished; return its summary.

    `data`: the run's dataset (subsets applied; a tuning run's validation split, `run_data`) if
    the caller has it loaded; otherwise it is loaded from `spec.dataset`, `spec.subset` and `data_dir`. `on_message(text)` hears
    why a finished-looking run is being run again (default: stderr). `sharing`: how many
    runs may share the device meanwhile (recorded: times measured while sharing are not
    comparable with times measured alone).
    The run is claimed first (RunDir.claim): when another process holds it, this waits and
    then reuses its result, or with wait=False returns at once {"busy": who holds it,
    "run_key", "name", "label", "seed"} for the caller to come back to it later.
    """
    run = RunDir(run_dir)
    reused = reused_summary(spec, run, on_message=lambda text: None)  # the driver said why, if it is redone
    if reused is not None:
        return reused
    blocked = blocked_reason(run)
    if blocked:
        return _fail_blocked(spec, run, blocked)
    try:
        with run.claim(wait=wait):
            return _execute_claimed(spec, run, device, data, data_dir, download, verbosity, inference_repeats,
                                    on_message, sharing)
    except RunBusy as holder:
        return {"busy": str(holder), "run_key": run.key, "name": spec.name, "label": spec.label, "seed": spec.seed}


def _execute_claimed(spec, run, device, data, data_dir, download, verbosity, inference_repeats, on_message, sharing):
    # Again, now that the run is ours: whoever held the claim before may have finished it.
    reused = reused_summary(spec, run, on_message or say)
    if reused is not None:
        return reused
    run.clear_status()
    run.write_config(spec, provenance())
    history, analysis, error = None, {}, None
    try:
        history, analysis = _train_and_analyse(spec, run, device, data, data_dir, download, verbosity,
                                               inference_repeats, sharing)
        status = history.status
        run.write_analysis(analysis)
    except Exception as e:  # a bug or bad input in one run must not stop the study
        error = f"{type(e).__name__}: {e}"
        run.write_error(error, traceback.format_exc())
        status = "failed"
    run.set_status(status)
    done = RunRecord(key=run.key, status=status, config=spec, metrics=history.epochs if history else [],
                     analysis=analysis, error=" ".join(error.split()) if error else None)
    return {**done.summary(), "cached": False, "resumed_from": history.resumed_from if history else 0}


def _train_and_analyse(spec, run, device, data, data_dir, download, verbosity, inference_repeats, sharing):
    from cnnlab.models import create_model
    from cnnlab.models.user_code import ensure_model
    from cnnlab.studies.analyse import run_analyses, training_recorders
    from cnnlab.train import TrainConfig, resolve_device, train
    from cnnlab.train.tensorboard import TensorBoardLogger, run_log_dir

    device = resolve_device(device)
    data = run_data(spec, data, data_dir, download)
    config = TrainConfig.from_dict(spec.train)
    ensure_model(spec.model, spec.model_source)  # a user's model, in a fresh worker: load its code first
    torch.manual_seed(spec.seed)  # the same seed gives the same initial weights
    model = create_model(spec.model, in_shape=data.in_shape, num_classes=data.num_classes, **spec.model_kwargs)
    recorders = training_recorders(spec.analyses, config)
    # After the recorders: at the end of each epoch it writes the gradient norms they took.
    tuning = spec.role == "tune"
    tensorboard = TensorBoardLogger(run_log_dir(run.path, spec.study, spec.label or spec.model, spec.seed, spec.train,
                                                tuning),
                                    steps_per_epoch=math.ceil(len(data.train_labels) / config.batch_size),
                                    grad_flow=recorders.get("grad_flow"), tuning=tuning,
                                    description=f"{spec.study}: {spec.name} (run {run.key})")
    try:
        history = train(model, data, config, out_dir=run.path, resume=True, callbacks=[*recorders.values(), tensorboard],
                        device=device, verbosity=verbosity, label=spec.name)
    finally:
        tensorboard.close()
    analysis = run_analyses(model, data, config, history, recorders, spec.analyses, device, run.path,
                            inference_repeats=inference_repeats, sharing=sharing)
    return history, analysis
