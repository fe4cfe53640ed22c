"""Peak memory of one training step (forward, backward, optimizer step) on a copy of the model:
the CUDA allocator's peak on a GPU, the profiler's allocator events on a CPU."""

from cnnlab.numeric import number
from cnnlab.plugins import Analysis, Column, Metric, register_analysis
from cnnlab.report import fmt


def measure(run):
    from cnnlab.analyses.memory.measure import peak_memory

    return peak_memory(run.model, run.data, run.config, device=run.device)


def check(value) -> bool:
    return isinstance(value, dict) and all(k in value for k in ("peak_bytes", "method", "precision"))


def _peak_bytes(run):
    m = run.analysis.get("memory")
    return number(m.get("peak_bytes")) if isinstance(m, dict) else None


def example(run):
    return {"device": "cpu", "batch_size": 128, "optimizer": "adam", "method": "profiler", "precision": "fp32",
            "resident_bytes": 4 * run.params, "step_bytes": 3 * 2**20, "peak_bytes": 4 * run.params + 3 * 2**20,
            "peak_mib": (4 * run.params + 3 * 2**20) / 2**20}


register_analysis(Analysis(
    name="memory",
    description="peak memory of one training step",
    measure=measure, check=check,
    metrics=(Metric("peak_bytes", "peak memory of one training step", _peak_bytes, "bytes"),),
    summary_columns=(Column("Peak train memory", "peak_bytes", fmt.size, "peak training memory"),),
    order=180, example=example))
