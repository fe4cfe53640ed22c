"""Inference timing: latency at batch size 1 and throughput at batch size 256, in eval mode.

Measured the way timings must be (cnnlab.analyses.inference.measure): warm-up passes, device
synchronisation, the median of `inference_repeats` timed passes with its spread, and the
hardware, threads and precision named.
"""

from cnnlab.numeric import number
from cnnlab.plugins import Analysis, Column, Metric, register_analysis
from cnnlab.units import counted

BATCH_SIZES = (1, 256)


def measure(run):
    from cnnlab.analyses.inference.measure import measure_inference

    # Warm-up passes: as many as the timed ones, at most 5. A quick profile's few repeats
    # should not pay for five untimed batches of 256; one pass already builds the kernels.
    return measure_inference(run.model, run.data.in_shape, device=run.device, batch_sizes=BATCH_SIZES,
                             repeats=run.inference_repeats, warmup=min(5, run.inference_repeats),
                             precision=run.precision)


def check(value) -> bool:
    return isinstance(value, dict) and all(k in value for k in ("device_name", "threads", "precision", "results"))


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


def example(run):
    return {"device": "cpu", "device_name": "Fake CPU 3000", "threads": 2, "precision": "fp32",
            "channels_last": False, "repeats": 30, "warmup": 5, "torch_version": "2.x",
            "results": [{"batch_size": b, "median_ms": ms, "q1_ms": ms * 0.9, "q3_ms": ms * 1.1,
                         "iqr_ms": ms * 0.2, "min_ms": ms * 0.8, "images_per_second": b / (ms / 1e3)}
                        for b, ms in ((1, 0.4 + run.rng.random() * 0.05), (256, 12.0))]}


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
    summary_note=summary_note, order=170, example=example))
