"""What cnnlab prints for people, for the command line and the notebook API alike: a line per
finished run and a bar over a study (`RunProgress`), the tables of `cnnlab studies`,
`cnnlab runs` and `cnnlab datasets`, and the summary lines that end a run. Functions return
text; the caller prints it (results on stdout, the bar on stderr)."""

import sys
import time

from cnnlab.store.schema import STUDY_FILE, TuningRecord, setting_text
from cnnlab.units import counted, duration_text


def _percent(x) -> str:
    return "-" if x is None else f"{100 * x:.2f}%"


def _thousands(x) -> str:
    return "-" if x is None else f"{int(x):,}"


def _seconds(x) -> str:
    return "-" if x is None else f"{x:.1f}s"


# ---------------------------------------------------------------- a study as it runs


def study_header(specs, data) -> str:
    """The line that opens a study's runs (or its tuning runs): its size and data."""
    first = specs[0]
    models, seeds = len({s.label for s in specs}), len({s.seed for s in specs})
    if first.role == "tune":
        settings = len({tuple(sorted(s.setting.items())) for s in specs})
        return (f"tuning {first.study} ({first.profile} profile): {models} models x {settings} settings x {seeds} "
                f"tuning seeds = {len(specs)} runs, {counted(first.train['epochs'], 'epoch')} each, on {first.dataset} "
                f"({len(data.train_labels):,} training / {len(data.test_labels):,} validation images; the test "
                "images are not used)")
    per_model = {}
    for spec in specs:
        per_model[spec.label] = per_model.get(spec.label, 0) + 1
    low, high = min(per_model.values()), max(per_model.values())
    seeds_text = str(seeds) if low == high else f"{low}-{high}"  # --until-decided: each model its own count
    return (f"study {first.study} ({first.profile} profile): {models} models x {seeds_text} seeds = {len(specs)} runs, "
            f"{counted(first.train['epochs'], 'epoch')} each, on {first.dataset} ({len(data.train_labels):,} training / "
            f"{len(data.test_labels):,} test images), {precision_text(first)}")


def precision_text(spec) -> str:
    """The run's precision and, on a CPU, why: --precision auto picks bf16 where the CPU has
    AVX512-BF16 or AMX, measured faster than fp32 there (benchmarks/precision_throughput.py)."""
    name = spec.train.get("precision")
    if name != "bf16" or (spec.runtime or {}).get("device") != "cpu":
        return f"{name}"
    features = cpu_bf16_features()
    return f"bf16 ({' and '.join(features)} on this CPU)" if features else "bf16"


def cpu_bf16_features() -> list[str]:
    """The bf16 math this CPU has, as /proc/cpuinfo names it (what makes --precision auto pick bf16)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith("flags")), "").split()
    except OSError:
        return []
    return [name for flag, name in (("avx512_bf16", "AVX512-BF16"), ("amx_bf16", "AMX")) if flag in flags]


def format_run_line(i: int, n: int, s: dict) -> str:
    tuning = s.get("role") == "tune"
    setting = f" {setting_text(s['setting'])}" if tuning and isinstance(s.get("setting"), dict) else ""
    head = f"[{i}/{n}] {s['label']}{setting} seed {s['seed']}: {s['status']}"
    if s["status"] == "failed":
        return f"{head}: {s['error'] or 'see error.txt'} ({s['run_dir']})"
    figures = (f"{'val' if tuning else 'test'} acc {_percent(s['test_acc'])}  train acc {_percent(s['train_acc'])}  "
               f"params {_thousands(s['params'])}  train {_seconds(s['train_seconds'])}  epochs {s['epochs']}")
    notes = []
    if s["cached"]:
        notes.append("cached")
    elif s["resumed_from"]:
        notes.append(f"resumed after epoch {s['resumed_from']}")
    return f"{head}  {figures}" + (f"  ({', '.join(notes)})" if notes else "")


class RunProgress:
    """One line per finished run with its figures, and an overall bar (runs done / total,
    ETA) on a terminal or in Jupyter; without one, the ETA goes at the end of each line.
    `quiet`: the lines only, never a bar.

    The ETA adds up the runs still to come model by model, each at the training time its
    model's finished runs took, cached ones included (a look that adds seeds knows its models'
    times from the first), scaled by the wall-clock per second of training so far, which covers
    evaluation, analyses and parallel workers (1 until a run has trained in this call). A model
    with no finished run yet has no time to go by, so the ETA is then a lower bound and says
    which models it leaves out.
    """

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.bar = None
        self.started = time.time()
        self.to_come: dict[str, int] = {}  # label -> runs not yet finished
        self.trained: dict[str, list[float]] = {}  # label -> training seconds of its finished runs, cached too
        self.trained_now = 0.0  # training seconds of the runs trained in this call

    def start(self, specs):
        self.close()  # `cnnlab run all` starts one bar per study
        self.started = time.time()
        self.to_come, self.trained, self.trained_now = {}, {}, 0.0
        for spec in specs:
            label = spec.label or spec.model  # as the run's summary names it
            self.to_come[label] = self.to_come.get(label, 0) + 1
        from cnnlab.train.progress import interactive

        if not self.quiet and interactive():
            from tqdm.auto import tqdm

            self.bar = tqdm(total=len(specs), unit="run", desc="study", position=0, dynamic_ncols=True,
                            file=sys.stderr, bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]")

    def eta(self) -> str | None:
        """"ETA 3 min 05 s", "ETA at least 40 s (Residual CNN not timed yet)", "ETA unknown (...)" or None."""
        trained = [t for times in self.trained.values() for t in times]
        remaining = {label: n for label, n in self.to_come.items() if n > 0}
        if not remaining or not trained or not sum(trained):
            return None
        per_training_second = (time.time() - self.started) / self.trained_now if self.trained_now else 1.0
        untimed = [label for label in remaining if not self.trained.get(label)]
        seconds = per_training_second * sum(n * sum(self.trained[label]) / len(self.trained[label])
                                            for label, n in remaining.items() if label not in untimed)
        if untimed:
            at_least = f"at least {duration_text(seconds)}" if len(untimed) < len(remaining) else "unknown"
            return f"ETA {at_least} ({', '.join(untimed)} not timed yet)"
        return f"ETA {duration_text(seconds)}"

    def run_done(self, i: int, n: int, summary: dict):
        line = format_run_line(i, n, summary)
        label = summary.get("label")
        if label in self.to_come:
            self.to_come[label] -= 1
        if isinstance(summary.get("train_seconds"), (int, float)) and summary.get("status") == "done":
            self.trained.setdefault(label, []).append(float(summary["train_seconds"]))
            if not summary["cached"]:
                self.trained_now += float(summary["train_seconds"])
        eta = self.eta() if i < n else None
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix_str(eta or "", refresh=True)
            self.bar.write(line, file=sys.stdout)
            return
        if eta:
            line += f"  [{eta}]"
        print(line, flush=True)

    def message(self, line: str):
        """A line of its own between the runs' lines (above the bar when there is one)."""
        if self.bar is not None:
            self.bar.write(line, file=sys.stdout)
        else:
            print(line, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None

# ---------------------------------------------------------------- the lines that end a run


def study_summary(info: dict, results_dir) -> list[str]:
    """After `cnnlab run STUDY`: statuses, cache, wall-clock and device; where results and report are."""
    statuses = [r["status"] for r in info["runs"]]
    m = info["manifest"]
    tuning = info.get("tuning") or {}
    tuned = sum(len(p["runs"]) for model in tuning.get("models", ()) for p in model["points"])
    lines = [f"{statuses.count('done')} done, {statuses.count('diverged')} diverged, {statuses.count('failed')} "
             f"failed{f' after {tuned} tuning runs' if tuned else ''} ({m['runs_cached']} cached) in "
             f"{m['wall_clock_seconds']:.0f}s on {m['device']}"]
    if tuned:
        record = TuningRecord.from_json(STUDY_FILE, tuning)
        images = record.validation.get("validation_size")
        images = images if isinstance(images, int) else None

        def chosen(model):
            where = setting_text(model.chosen) if model.chosen else "shared settings"
            weak = model.weak_choice(images)
            return f"{model.label} at {where}" + (f" ({'; '.join(weak)})" if weak else "")

        lines.append("tuned:   " + ", ".join(chosen(model) for model in record.models))
    lines.append(f"results: {results_dir}")
    return lines + [f"report:  {path}" for path in info.get("report", [])]


def suite_announcement(profile: str, studies, out) -> str:
    tuning = sum(s.tune_run_count for s in studies)
    runs = sum(s.run_count for s in studies)
    size = f"{runs} runs" + (f" after {tuning} tuning runs" if tuning else "")
    return f"cnnlab run all ({profile} profile): {len(studies)} studies, {size}, into {out}"


def suite_summary(suite: dict, studies: int, seconds: float) -> list[str]:
    """After `cnnlab run all`: runs trained, reused and failed; the report; wall-clock and hardware."""
    last = suite["invocations"][-1]
    hardware = suite["hardware"]
    threads = hardware.get("threads")
    lines = [f"all {studies} studies: {last['runs_trained']} runs trained, {last['runs_cached']} reused, "
             f"{last['runs_failed']} failed"]
    lines += [f"report:  {path}" for path in suite.get("report", [])]
    lines.append(f"total wall-clock {duration_text(seconds)} on {hardware.get('device')}"
                 + (f" ({threads} thread{'s' if threads != 1 else ''} per run, {hardware.get('executor')})"
                    if threads else ""))
    return lines


def train_summary(model: str, dataset: str, record, where: str) -> str:
    """After `cnnlab train`: the run's test accuracy, or why it has none."""
    if record.status != "done":
        why = f"diverged in epoch {record.analysis.get('diverged_epoch')}" if record.status == "diverged" else (
            f"failed: {record.error}")
        return f"{model} on {dataset} {why}; {where}"
    summary = record.summary()
    return (f"{model} on {dataset}: test accuracy {100 * summary['test_acc']:.2f}% after "
            f"{counted(summary['epochs'], 'epoch')} ({summary['device']}, {summary['precision']}); {where}")


# ---------------------------------------------------------------- tables


def size_text(study) -> str:
    """How big a study is: dataset, images, epochs, seeds, batch size."""
    images = []
    if study.subset:
        images.append(f"{study.subset:,} training")
    if study.test_subset:
        images.append(f"{study.test_subset:,} test")
    batch = study.train.get("batch_size")
    return (f"{study.dataset}{' (' + ' / '.join(images) + ' images)' if images else ''}, {counted(study.epochs, 'epoch')} x "
            f"{counted(len(study.seeds), 'seed')}" + (f", batch {batch}" if batch else ""))


def studies_table(studies) -> list[str]:
    """`cnnlab studies`: each study with its models and the size of each profile."""
    lines = [f"{'name':24} {'ref':4} {'dataset':10} {'runs':>13} {'epochs':>6}  title"]
    for s in studies:
        runs = f"{len(s.models)}x{len(s.seeds)} = {s.run_count}"
        lines.append(f"{s.name:24} {s.reference:4} {s.dataset:10} {runs:>13} {s.epochs:>6}  {s.title}")
        lines.append(f"{'':24} models: {', '.join(m.label for m in s.models)}")
        for name in s.profiles:
            lines.append(f"{'':24} --profile {name}: {size_text(s.with_profile(name))}")
    lines.append("\nRun one with `cnnlab run NAME`, all six with `cnnlab run all` (options: --profile, --epochs, "
                 "--seeds, --dataset, --subset; see --help).")
    return lines


def text_table(header: list[str], rows: list[list[str]], right=(), rule: bool = False) -> list[str]:
    """Aligned plain-text lines: each column as wide as its widest cell, the columns in `right`
    (indices) right-aligned, two spaces between columns, no trailing blanks; `rule`: a line of
    dashes under the header. The one table layout of every command that prints one."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(x) for x in column) for column in zip(header, *cells)] if header else []

    def line(values):
        return "  ".join(v.rjust(w) if i in right else v.ljust(w)
                         for i, (v, w) in enumerate(zip(values, widths))).rstrip()

    return [line(header), *(["  ".join("-" * w for w in widths)] if rule else []), *(line(c) for c in cells)]


def runs_table(rows: list[dict]) -> list[str]:
    """`cnnlab runs`: one line per index row (with its `stale` flag)."""
    header = ["study", "profile", "role", "model", "seed", "lr", "wd", "status", "test acc", "train acc", "params",
              "train", "epochs", "code", "run"]
    body = []
    for r in rows:
        lr, wd = (f"{r[k]:g}" if isinstance(r.get(k), (int, float)) else "-" for k in ("lr", "weight_decay"))
        body.append([r["study"] or "-", r["profile"] or "-", r.get("role") or "eval", r["label"] or r["model"] or "-",
                     "-" if r["seed"] is None else r["seed"], lr, wd, r["status"] or "-", _percent(r["test_acc"]),
                     _percent(r["train_acc"]), _thousands(r["params"]), _seconds(r["train_seconds"]),
                     "-" if r["epochs"] is None else r["epochs"], "stale" if r["stale"] else "current", r["run_dir"]])
    return text_table(header, body, right={4, 5, 6, 8, 9, 10, 11, 12})


def datasets_table(rows: list[dict]) -> list[str]:
    """`cnnlab datasets`: each dataset with its shape, size and where it was found (or why not)."""
    def num(v):
        return "-" if v is None else f"{v:,}"

    body = [[r["name"], r["shape"], num(r["classes"]), num(r["train"]), num(r["test"]),
             {"found": "", "missing": "NOT FOUND: ", "corrupt": "UNUSABLE: "}[r["state"]] + r["where"]] for r in rows]
    return text_table(["name", "shape", "classes", "train", "test", "where"], body, right={2, 3, 4})


def layer_check_lines(result) -> list[str]:
    """What `cnnlab check-layer` and `cnnlab.check_layer` print of a LayerCheck
    (cnnlab.models.check_layer)."""
    from cnnlab.models.check_layer import TOLERANCE

    rows = [[e.name, "x".join(map(str, e.shape)), f"{e.max_abs:.2e}", f"{e.max_rel:.2e}"] for e in result.errors]
    lines = ["gradients against finite differences (float64):",
             *text_table(["input", "shape", "max abs error", "max rel error"], rows, right={2, 3}, rule=True)]
    if result.autograd is not None:
        rows = [[e.name, "x".join(map(str, e.shape)), f"{e.max_abs:.2e}", f"{e.max_rel:.2e}"] for e in result.autograd]
        lines += ["against autograd's gradients of the same forward:",
                  *text_table(["input", "shape", "max abs error", "max rel error"], rows, right={2, 3}, rule=True)]
    elif result.autograd_note:
        lines.append(f"autograd: {result.autograd_note}")
    for who, t in result.times.items():
        lines.append(f"time ({who}, float32, median of the timed passes): forward {t['forward_ms']:.3f} ms, "
                     f"backward {t['backward_ms']:.3f} ms")
    worst = max(result.errors, key=lambda e: e.max_abs)
    lines.append(("PASS" if result.passed else "FAIL") + f": gradcheck (atol {TOLERANCE['atol']:g}, rtol "
                 f"{TOLERANCE['rtol']:g}); largest error {worst.max_abs:.2e} ({worst.name})")
    return lines
