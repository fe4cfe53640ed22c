"""Inference timing: latency at batch size 1 and throughput at batch size 256, in eval mode, and
the forward and backward time of each top-level block in training mode.

Measured the way timings must be (cnnlab.analyses.inference.measure): warm-up passes, device
synchronisation, the median of `inference_repeats` timed passes with its spread, and the
hardware, threads and precision named.
"""

from cnnlab.numeric import number
from cnnlab.plugins import Analysis, Column, Metric, register_analysis
from cnnlab.units import counted

BATCH_SIZES = (1, 256)
BLOCK_BATCH = 32  # images per timed block pass: a training batch of the quick profile


def measure(run):
    from cnnlab.analyses.inference.measure import measure_blocks, measure_inference

    # Warm-up passes: as many as the timed ones, at most 5. A quick profile's few repeats
    # should not pay for five untimed batches of 256; one pass already builds the kernels.
    value = measure_inference(run.model, run.data.in_shape, device=run.device, batch_sizes=BATCH_SIZES,
                              repeats=run.inference_repeats, warmup=min(5, run.inference_repeats),
                              precision=run.precision)
    value["blocks"] = measure_blocks(run.model, run.data.in_shape, device=run.device, batch_size=BLOCK_BATCH,
                                     repeats=run.inference_repeats, warmup=min(3, run.inference_repeats),
                                     precision=run.precision)
    return value


def check(value) -> bool:
    blocks = value.get("blocks") if isinstance(value, dict) else None
    return (isinstance(value, dict) and all(k in value for k in ("device_name", "threads", "precision", "results"))
            and (blocks is None or (isinstance(blocks, dict) and isinstance(blocks.get("blocks"), list))))


def view(inf) -> dict:
    """{"batches": {batch_size: row}, "device", "threads", "precision", "layout"} of a stored value."""
    if not isinstance(inf, dict):
        return {}
    batches = {int(row["batch_size"]): row for row in inf.get("results") or []
               if isinstance(row, dict) and number(row.get("batch_size")) is not None}
    return {"batches": batches, "device": inf.get("device_name") or inf.get("device"),
            "threads": inf.get("threads"), "precision": inf.get("precision"),
            "layout": "channels-last" if inf.get("channels_last") else None}


def _read(batch_size: int, key: str):
    def read(run):
        row = view(run.analysis.get("inference")).get("batches", {}).get(batch_size)
        return number(row.get(key)) if row else None
    return read


def summary_note(study) -> str | None:
    """How inference was timed (device, threads, precision, layout, repeats), from the first run that did."""
    for run in study.all_runs:
        inf = run.analysis.get("inference")
        v = view(inf)
        if v.get("batches"):
            repeats = inf.get("repeats") or next(iter(v["batches"].values())).get("repeats")
            details = ", ".join(str(x) for x in (v.get("device"), counted(v['threads'], 'thread') if v.get("threads")
                                                 else None, v.get("precision"), v.get("layout")) if x)
            return (f"Latency: median of {repeats or 'repeated'} timed forward passes after warm-up, "
                    f"synchronised when on a GPU ({details}); throughput = batch size / median latency.")
    return None


TITLE = "Time per block"


def block_rows(model) -> dict[str, dict]:
    """{block type: {"blocks", "forward", "backward"}}: over a model's finished runs, the mean of
    each block's median forward and backward milliseconds, per block of each type."""
    per_type: dict[str, dict] = {}
    for run in model.done:
        inf = run.analysis.get("inference")
        blocks = inf.get("blocks") if isinstance(inf, dict) else None
        for row in (blocks or {}).get("blocks") or []:
            if not isinstance(row, dict) or not isinstance(row.get("forward"), dict):
                continue
            entry = per_type.setdefault(str(row.get("type")), {"names": set(), "forward": [], "backward": []})
            entry["names"].add(row.get("block"))
            entry["forward"].append(number(row["forward"].get("median_ms")))
            entry["backward"].append(number((row.get("backward") or {}).get("median_ms")))
    return {kind: {"blocks": len(e["names"]), "forward": _mean(e["forward"]), "backward": _mean(e["backward"])}
            for kind, e in per_type.items()}


def _mean(values):
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def section(study, dpi: int):
    from cnnlab.results.busy import busy
    from cnnlab.document import Paragraph, Section, Table
    from cnnlab.report.findings import by_test_accuracy
    from cnnlab.report.sections import not_measured

    s = Section(TITLE)
    rows = []
    for m in by_test_accuracy(study.models):
        for kind, e in block_rows(m).items():
            show = lambda v: "-" if v is None else f"{v:.2f} ms"  # noqa: E731
            rows.append([m.label, kind, str(e["blocks"]), show(e["forward"]), show(e["backward"])])
    if not rows:
        return not_measured(s, "time per block")
    s.add(Table(["Model", "Block type", "Blocks", "Forward per block", "Backward per block"], rows,
                caption=f"Median of the timed passes of each block on a batch of {BLOCK_BATCH} images in training "
                        "mode, each on what the blocks before it produce; mean over a model's blocks of that type "
                        "and its seeds"))
    from cnnlab.report.answers import shared_runs

    noisy, sharing = busy(study.models, "latency_ms"), shared_runs(study.models)
    s.add(Paragraph("Each top-level block (the network's features, one by one, then its head) timed alone: warm-up "
                    "passes, then the study's inference repeats, synchronised on a GPU. 'cnnlab inspect MODEL "
                    "--time' prints the same per block for one model."
                    + (" These runs shared their device with other runs, so the times say as much about what ran "
                       "beside them as about the blocks: run the study with --workers 1 to compare them."
                       if sharing is not None else "") + (f" Latency {noisy}." if noisy else ""), note=True))
    return s


def example(run):
    blocks = [{"block": f"features.{i}", "type": kind, "params": 1000 * (i + 1),
               "forward": {"median_ms": 0.2 * (i + 1), "q1_ms": 0.18 * (i + 1), "q3_ms": 0.22 * (i + 1)},
               "backward": {"median_ms": 0.4 * (i + 1), "q1_ms": 0.36 * (i + 1), "q3_ms": 0.44 * (i + 1)}}
              for i, kind in enumerate(("Conv2d", "BasicBlock", "BasicBlock"))]
    return {"device": "cpu", "device_name": "Fake CPU 3000", "threads": 2, "precision": "fp32",
            "channels_last": False, "repeats": 30, "warmup": 5, "torch_version": "2.x",
            "results": [{"batch_size": b, "median_ms": ms, "q1_ms": ms * 0.9, "q3_ms": ms * 1.1,
                         "iqr_ms": ms * 0.2, "min_ms": ms * 0.8, "images_per_second": b / (ms / 1e3)}
                        for b, ms in ((1, 0.4 + run.rng.random() * 0.05), (256, 12.0))],
            "blocks": {"device": "cpu", "device_name": "Fake CPU 3000", "threads": 2, "precision": "fp32",
                       "batch_size": 32, "repeats": 30, "warmup": 3, "blocks": blocks}}


register_analysis(Analysis(
    name="inference",
    description="inference latency (batch 1) and throughput (batch 256): warm-up, synchronised, median",
    measure=measure, check=check,
    metrics=(Metric("latency_ms", "inference latency at batch size 1", _read(1, "median_ms"), "ms"),
             Metric("throughput", "inference throughput at batch size 256", _read(256, "images_per_second"),
                    "img/s")),
    summary_columns=(Column("Latency (batch 1)", "latency_ms", lambda v: f"{v:.2f} ms",
                            "inference latency and throughput"),
                     Column("Throughput (batch 256)", "throughput", lambda v: f"{v:,.0f} img/s",
                            "inference latency and throughput")),
    summary_note=summary_note, title=TITLE, section=section, order=170, example=example))
