"""`cnnlab studies`, `cnnlab run`, `cnnlab runs` and `cnnlab report`: added to the main parser
by `cnnlab.cli` through `add_commands`."""

import argparse
import json
import sys
import time
from pathlib import Path

from cnnlab.errors import UserError
from cnnlab.units import duration_text

DEFAULT_OUT = "runs"


def _percent(x) -> str:
    return "-" if x is None else f"{100 * x:.2f}%"


def _thousands(x) -> str:
    return "-" if x is None else f"{int(x):,}"


def _seconds(x) -> str:
    return "-" if x is None else f"{x:.1f}s"


# ---------------------------------------------------------------- studies


def cmd_studies(args):
    from cnnlab.studies.loader import load_builtin_studies

    studies = sorted(load_builtin_studies(), key=lambda s: (s.reference, s.name))
    if args.json:
        rows = [{**s.to_dict(), "runs": s.run_count} for s in studies]
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'name':24} {'ref':4} {'dataset':10} {'runs':>13} {'epochs':>6}  title")
    for s in studies:
        runs = f"{len(s.models)}x{len(s.seeds)} = {s.run_count}"
        print(f"{s.name:24} {s.reference:4} {s.dataset:10} {runs:>13} {s.epochs:>6}  {s.title}")
        print(f"{'':24} models: {', '.join(m.label for m in s.models)}")
        for name in s.profiles:
            print(f"{'':24} --profile {name}: {_size_text(s.with_profile(name))}")
    print("\nRun one with `cnnlab run NAME`, all six with `cnnlab run all` (options: --profile, --epochs, --seeds, "
          "--dataset, --subset; see --help).")
    return 0


def _size_text(study) -> str:
    """How big a study is: dataset, images, epochs, seeds, batch size."""
    images = []
    if study.subset:
        images.append(f"{study.subset:,} training")
    if study.test_subset:
        images.append(f"{study.test_subset:,} test")
    batch = study.train.get("batch_size")
    return (f"{study.dataset}{' (' + ' / '.join(images) + ' images)' if images else ''}, {study.epochs} epochs x "
            f"{len(study.seeds)} seeds" + (f", batch {batch}" if batch else ""))


# ---------------------------------------------------------------- run


def format_run_line(i: int, n: int, s: dict) -> str:
    head = f"[{i}/{n}] {s['label']} seed {s['seed']}: {s['status']}"
    if s["status"] == "failed":
        return f"{head}: {s['error'] or 'see error.txt'} ({s['run_dir']})"
    figures = (f"test acc {_percent(s['test_acc'])}  train acc {_percent(s['train_acc'])}  "
               f"params {_thousands(s['params'])}  train {_seconds(s['train_seconds'])}  epochs {s['epochs']}")
    notes = []
    if s["cached"]:
        notes.append("cached")
    elif s["resumed_from"]:
        notes.append(f"resumed after epoch {s['resumed_from']}")
    return f"{head}  {figures}" + (f"  ({', '.join(notes)})" if notes else "")


class RunProgress:
    """One line per finished run with its figures, and an overall bar (runs done / total,
    ETA) on a terminal or in Jupyter; without one, the ETA goes at the end of each line."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.bar = None
        self.started = time.time()
        self.trained = 0

    def start(self, total: int):
        self.close()  # `cnnlab run all` starts one bar per study
        self.started = time.time()
        self.trained = 0
        from cnnlab.train.progress import interactive

        if not self.quiet and interactive():
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, unit="run", desc="study", position=0, dynamic_ncols=True, file=sys.stderr)

    def run_done(self, i: int, n: int, summary: dict):
        line = format_run_line(i, n, summary)
        self.trained += not summary["cached"]
        if self.bar is not None:
            self.bar.update(1)
            self.bar.write(line, file=sys.stdout)
            return
        if i < n and self.trained:  # cached runs take no time, so they do not count towards the pace
            eta = (time.time() - self.started) / self.trained * (n - i)
            line += f"  [ETA {duration_text(eta)}]"
        print(line, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _overrides(args) -> dict:
    """The study settings given explicitly on the command line: they win over the profile."""
    if args.dataset is not None and args.stand_in:
        raise UserError("--dataset replaces every study's dataset and --stand-in OLD=NEW only OLD: give one of them")
    given = {"epochs": args.epochs, "seeds": args.seeds, "dataset": args.dataset, "subset": args.subset,
             "test_subset": args.test_subset, "precision": args.precision,
             "inference_repeats": args.inference_repeats, "analyses": args.analyses,
             "cuda_graphs": None if args.cuda_graphs else False,
             "stand_in": dict(args.stand_in) if args.stand_in else None}
    return {k: v for k, v in given.items() if v is not None}


def parallelism(profile: str, device, executor: str, workers, cpus_per_run) -> tuple[int | None, int | None]:
    """--workers and --cpus-per-run, where not given: the runner's default (one worker using
    every core on a CPU, several runs per GPU), except the quick profile on a CPU, which
    runs one single-threaded worker per core: on a small CPU two one-thread runs side by
    side train more images per second than one two-thread run, and they do not stall when
    another program takes a core."""
    if workers is not None or executor != "local" or cpus_per_run is not None or profile != "quick":
        return workers, cpus_per_run
    from cnnlab.studies.executors import default_threads
    from cnnlab.train.device import resolve_device

    if resolve_device(device).type != "cpu":
        return None, None
    return default_threads("local", 1), 1  # all the cores, one worker each


def _run_options(args, progress) -> dict:
    """What every study of one `cnnlab run` gets: where, on what, and how to report progress."""
    workers, cpus_per_run = parallelism(args.profile, args.device, args.executor, args.workers, args.cpus_per_run)

    def on_start(specs, data):
        first = specs[0]
        models, seeds = len({s.label for s in specs}), len({s.seed for s in specs})
        print(f"study {first.study} ({first.profile} profile): {models} models x {seeds} seeds = {len(specs)} runs, "
              f"{first.train['epochs']} epochs each, on {first.dataset} ({len(data.train_labels):,} training / "
              f"{len(data.test_labels):,} test images)", flush=True)
        progress.start(len(specs))

    return {"device": args.device, "data_dir": args.data_dir, "download": not args.offline,
            "verbosity": "lines" if args.quiet else "auto", "on_start": on_start, "on_run": progress.run_done,
            "executor": args.executor, "workers": workers, "ray_address": args.ray_address,
            "cpus_per_run": cpus_per_run}


def cmd_run(args):
    started = time.time()  # `cnnlab run all` reports its wall-clock from here, imports included
    from cnnlab.studies.loader import check_stand_in, load_study
    from cnnlab.studies.run_all import ALL
    from cnnlab.studies.runner import run_study, study_dir

    if args.study == ALL:
        return cmd_run_all(args, started)
    overrides = _overrides(args)
    study = load_study(args.study).with_profile(args.profile)
    check_stand_in(overrides.get("stand_in"), [study])
    study = study.with_overrides(**overrides)
    progress = RunProgress(quiet=args.quiet)
    options = _run_options(args, progress)
    try:
        info = run_study(study, args.out, report=not args.no_report, **options)
    finally:
        progress.close()
    statuses = [r["status"] for r in info["runs"]]
    m = info["manifest"]
    print(f"{statuses.count('done')} done, {statuses.count('diverged')} diverged, {statuses.count('failed')} failed "
          f"({m['runs_cached']} cached) in {m['wall_clock_seconds']:.0f}s on {m['device']}")
    print(f"results: {study_dir(args.out, study.name)}")
    for path in info.get("report", []):
        print(f"report:  {path}")
    return 1 if "failed" in statuses else 0


def cmd_run_all(args, started: float):
    from cnnlab.studies.run_all import builtin_suite, run_suite
    from cnnlab.train.device import resolve_device

    overrides = _overrides(args)
    studies = builtin_suite(args.profile, overrides)
    progress = RunProgress(quiet=args.quiet)
    options = _run_options(args, progress)
    settings = {"profile": args.profile, "overrides": overrides, "device": str(resolve_device(args.device)),
                "executor": args.executor, "workers": options["workers"], "cpus_per_run": options["cpus_per_run"]}
    def announce():
        print(f"cnnlab run all ({args.profile} profile): {len(studies)} studies, "
              f"{sum(s.run_count for s in studies)} runs, into {args.out}", flush=True)

    try:
        suite = run_suite(studies, args.out, args.profile, settings, report=not args.no_report,
                          on_checked=announce, **options)
    finally:
        progress.close()
    last = suite["invocations"][-1]
    hardware = suite["hardware"]
    threads = hardware.get("threads")
    print(f"all {len(studies)} studies: {last['runs_trained']} runs trained, {last['runs_cached']} reused, "
          f"{last['runs_failed']} failed")
    for path in suite.get("report", []):
        print(f"report:  {path}")
    print(f"total wall-clock {duration_text(time.time() - started)} on {hardware.get('device')}"
          + (f" ({threads} thread{'s' if threads != 1 else ''} per run, {hardware.get('executor')})"
             if threads else ""))
    return 1 if last["runs_failed"] else 0


# ---------------------------------------------------------------- runs


def _open_results_index(out):
    from cnnlab.store.index import INDEX_FILE, RUNS_DIR, open_index

    if not str(out).strip():
        raise UserError("--out is empty; give the output directory of `cnnlab run`")
    out = Path(out)
    if not (out / INDEX_FILE).is_file() and not (out / RUNS_DIR).is_dir():
        raise UserError(f"no results in {out} (no {INDEX_FILE}, no {RUNS_DIR}/); "
                        "run a study first: cnnlab run STUDY --out DIR")
    return open_index(out)


def cmd_runs(args):
    import shutil

    from cnnlab.fingerprint import code_fingerprint

    current = code_fingerprint()
    with _open_results_index(args.out) as index:
        rows = index.rows(study=args.study)
        for r in rows:
            r["stale"] = r["code"] != current
        if args.stale or args.prune_stale:
            rows = [r for r in rows if r["stale"]]
        if args.prune_stale:
            from cnnlab.train.tensorboard import remove_run_logs

            for r in rows:
                shutil.rmtree(Path(args.out) / r["run_dir"], ignore_errors=True)
                remove_run_logs(args.out, r["run_key"])
            index.delete([r["run_key"] for r in rows])
            studies = sorted({r["study"] or "?" for r in rows})
            print(f"removed {len(rows)} run(s) made by other code than this cnnlab's ({current})"
                  + (f"; studies affected: {', '.join(studies)} (run them again for current results)" if rows else ""))
            return 0
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if args.csv:
        return _write_runs_csv(rows, args.csv)
    if not rows:
        what = "stale runs" if args.stale else "runs"
        print(f"no {what}{' of study ' + args.study if args.study else ''} in {args.out}")
        return 0
    study_w = max(len("study"), *(len(r["study"] or "") for r in rows))
    model_w = max(len("model"), *(len(r["label"] or r["model"] or "") for r in rows))
    print(f"{'study':{study_w}} {'profile':7} {'model':{model_w}} {'seed':>4} {'status':8} {'test acc':>8} "
          f"{'train acc':>9} {'params':>11} {'train':>8} {'epochs':>6} {'code':7}  run")
    for r in rows:
        epochs = "-" if r["epochs"] is None else r["epochs"]
        seed = "-" if r["seed"] is None else r["seed"]
        print(f"{r['study'] or '-':{study_w}} {r['profile'] or '-':7} {r['label'] or r['model'] or '-':{model_w}} "
              f"{seed:>4} {r['status'] or '-':8} {_percent(r['test_acc']):>8} {_percent(r['train_acc']):>9} "
              f"{_thousands(r['params']):>11} {_seconds(r['train_seconds']):>8} {epochs:>6} "
              f"{'stale' if r['stale'] else 'current':7}  {r['run_dir']}")
    stale = sum(r["stale"] for r in rows)
    if stale:
        print(f"\n{stale} run(s) were made by other code than this cnnlab's ({current}): `stale` results are not "
              "reused; list them with --stale, delete them with --prune-stale")
    return 0


def _write_runs_csv(rows: list[dict], target: str) -> int:
    """The index rows as CSV (columns of the index, then `stale`): to stdout for "-"."""
    from cnnlab.io import atomic_write_csv, csv_text
    from cnnlab.store.index import COLUMNS

    columns = [*COLUMNS, "stale"]
    if target == "-":
        sys.stdout.write(csv_text(rows, columns))
    else:
        atomic_write_csv(target, rows, columns)
        print(f"{len(rows)} run(s) written to {target}")
    return 0


# ---------------------------------------------------------------- report


def report_dirs(path) -> list[Path]:
    """A study directory (with study.json), or an output directory holding studies/*/study.json."""
    if not str(path).strip():
        raise UserError("DIR is empty; give the output directory of `cnnlab run` or one of its studies/<name>")
    path = Path(path)
    if (path / "study.json").is_file():
        return [path]
    found = sorted(p.parent for p in path.glob("studies/*/study.json"))
    if not found:
        raise UserError(f"no study.json in {path} or {path / 'studies'}/*; pass the output directory of "
                        "`cnnlab run` or one of its studies/<name> directories")
    return found


def cmd_report(args):
    from cnnlab.report import render_report
    from cnnlab.report.suite import render_suite_report
    from cnnlab.store.records import SUITE_FILE

    for directory in report_dirs(args.dir):
        for path in render_report(directory):
            print(path)
    if (Path(args.dir) / SUITE_FILE).is_file():  # the output directory of `cnnlab run all`
        for path in render_suite_report(args.dir):
            print(path)
    return 0


# ---------------------------------------------------------------- parser


def _name_list(text: str) -> list[str]:
    """"a,b" -> ["a", "b"]; the study loader checks the names (an empty text: no analyses)."""
    return [part.strip() for part in text.split(",") if part.strip()]


def _stand_in(text: str) -> tuple[str, str]:
    """"mnist=mnist-small" -> ("mnist", "mnist-small"); the study loader checks the new name."""
    old, sep, new = (part.strip() for part in text.partition("="))
    if not sep or not old or not new:
        raise argparse.ArgumentTypeError(f"expected OLD=NEW (two dataset names), e.g. mnist=mnist-small; got {text!r}")
    return old, new


def add_commands(sub, add_runtime_options, positive_int):
    from cnnlab.choices import ANALYSES, DEFAULT_PROFILE, EXECUTORS, PROFILES

    p = sub.add_parser("studies", help="list the built-in studies: title, dataset, models, run count",
                       description="List the built-in studies with their title, dataset, models and run count.")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_studies)

    p = sub.add_parser("run", help="run a study (built-in name or .toml file), or `all` six, then write the report",
                       description="Train and analyse every (model, seed) of a study, skipping runs already done "
                                   "and resuming interrupted ones, then write its report. `cnnlab run all` runs the "
                                   "six built-in studies into one OUT and writes OUT/report.md and report.html, "
                                   "which answer each course question.")
    p.add_argument("study", metavar="STUDY", help="built-in study name (see `cnnlab studies`), a .toml file, or "
                                                  "`all` for every built-in study and the suite report")
    p.add_argument("--profile", choices=PROFILES, default=DEFAULT_PROFILE,
                   help="full: the study's own settings (default); quick: its [profiles.quick] settings, sized for "
                        "a 2-core CPU (all six studies in about 17 minutes). Explicit --epochs, --seeds, --dataset, "
                        "--subset, --test-subset win over the profile")
    p.add_argument("--out", default=DEFAULT_OUT, help=f"output directory (default {DEFAULT_OUT})")
    add_runtime_options(p)
    p.set_defaults(precision=None)  # not given: keep the study's own setting (default auto)
    p.add_argument("--epochs", type=positive_int, default=None, help="override the study's epochs")
    p.add_argument("--seeds", type=positive_int, default=None, metavar="N", help="run seeds 0..N-1")
    p.add_argument("--dataset", default=None, help="override the study's dataset (see `cnnlab datasets`)")
    p.add_argument("--stand-in", type=_stand_in, action="append", default=None, metavar="OLD=NEW",
                   help="train on dataset NEW wherever a study names OLD, e.g. mnist=mnist-small when MNIST is "
                        "not at hand offline (repeatable; the reports name the dataset used)")
    p.add_argument("--subset", type=positive_int, default=None, metavar="N",
                   help="train on the first N training images only (quick CPU runs)")
    p.add_argument("--test-subset", type=positive_int, default=None, metavar="N",
                   help="evaluate on the first N test images only")
    p.add_argument("--analyses", type=_name_list, default=None, metavar="A,B,...",
                   help=f"run these analyses instead of the study's own ({', '.join(ANALYSES)}); "
                        "e.g. leave out inference timing for a fast look")
    p.add_argument("--inference-repeats", type=positive_int, default=None, metavar="N",
                   help="timed forward passes per batch size for inference timing (default: the study's, 30)")
    p.add_argument("--executor", choices=EXECUTORS, default="local",
                   help="local (this machine; default) or ray (each run a Ray task)")
    p.add_argument("--workers", type=positive_int, default=None, metavar="N",
                   help="with --executor local: N worker processes. Default: 1 on the CPU (with --profile quick, "
                        "one single-threaded worker per core); on GPUs, several runs share each GPU (up to 4, as "
                        "its free memory allows)")
    p.add_argument("--ray-address", default=None, metavar="ADDR",
                   help="Ray cluster to join, e.g. 10.0.0.1:6379 or auto (default: start a local one)")
    p.add_argument("--cpus-per-run", type=positive_int, default=None, metavar="N",
                   help="CPU threads of each run (Ray: CPUs reserved per task when there is no GPU); "
                        "default: the cores shared among workers, 1 under Ray")
    p.add_argument("--quiet", action="store_true", help="plain log lines instead of progress bars")
    p.add_argument("--no-report", action="store_true",
                   help="write results only; render the report later with `cnnlab report OUT`")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("runs", help="list finished runs from the results index",
                       description="List runs recorded in OUT/index.sqlite, across studies. A run is 'stale' when "
                                   "other code (models, training, data pipeline, analyses) made it than the "
                                   "installed cnnlab's: it is never reused as a result of the current code.")
    p.add_argument("--out", default=DEFAULT_OUT, help=f"output directory (default {DEFAULT_OUT})")
    p.add_argument("--study", default=None, help="only this study's runs")
    output = p.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true")
    output.add_argument("--csv", nargs="?", const="-", default=None, metavar="FILE",
                        help="one CSV row per run (pandas.read_csv reads it as is), to FILE or to stdout")
    p.add_argument("--stale", action="store_true", help="only runs made by other code than the installed cnnlab's")
    p.add_argument("--prune-stale", action="store_true",
                   help="delete the run directories and index rows of stale runs")
    p.set_defaults(func=cmd_runs)

    p = sub.add_parser("report", help="re-render a study's report from its results, without training",
                       description="Re-render report.md and report.html from saved results (no training); for "
                                   "the output directory of `cnnlab run all`, its suite report too.")
    p.add_argument("dir", metavar="DIR", help="OUT/studies/<name>, or OUT to re-render every study in it (and the "
                                              "suite report when OUT has one)")
    p.set_defaults(func=cmd_report)
