"""Training stability: loss noise over the last steps, gradient-norm spikes and diverged runs.

Needs the per-step loss and gradient norm, so a study that asks for it logs them
(`log_steps`); read from the training history alone, so a diverged run gets it too.
"""

from cnnlab.analyses.stability.measure import training_stability
from cnnlab.plugins import Analysis, register_analysis
from cnnlab.report import fmt
from cnnlab.document import Paragraph, Section, Table
from cnnlab.report.findings import by_test_accuracy
from cnnlab.report.sections import not_measured
from cnnlab.stats.summary import summarize

TITLE = "Training stability"


def train_settings(config, total_steps: int) -> dict:
    return {"log_steps": True}  # per-step loss and gradient norm


def measure(run):
    return training_stability(run.history.steps["loss"], run.history.steps["grad_norm"])


def check(value) -> bool:
    return isinstance(value, dict) and all(k in value for k in ("steps", "loss_std_tail", "grad_spikes"))


def _stored(runs) -> list[dict]:
    return [r.analysis["stability"] for r in runs if isinstance(r.analysis.get("stability"), dict)]


def section(study, dpi: int) -> Section:
    s = Section(TITLE)
    rows = []
    for m in by_test_accuracy(study.models):
        # Diverged runs count here: diverging is the instability this section is about.
        runs = [r for r in m.runs if r.status in ("done", "diverged") and r.trusted]
        measured = _stored(runs)
        diverged = [r for r in runs if r.status == "diverged"]
        if not measured and not diverged:
            continue
        spikes = [x.get("grad_spikes") for x in measured if isinstance(x.get("grad_spikes"), int)]
        nonfinite = [x.get("nonfinite_losses") for x in measured if isinstance(x.get("nonfinite_losses"), int)]
        where = ", ".join(f"seed {r.seed} at epoch {r.analysis.get('diverged_epoch', '?')}" for r in diverged)
        rows.append([m.label, fmt.mean_std(summarize([x.get("loss_std_tail") for x in measured]), digits=4),
                     fmt.mean_std(summarize([x.get("loss_mean_tail") for x in measured]), digits=3),
                     str(sum(spikes)) if spikes else fmt.DASH, str(sum(nonfinite)) if nonfinite else fmt.DASH,
                     f"{len(diverged)} of {len(runs)}" + (f" ({where})" if where else "")])
    if not rows:
        return not_measured(s, "per-step loss noise and gradient spikes")
    s.add(Table(["Model", "Loss std, last 20% of steps", "Mean loss, last 20% of steps", "Gradient-norm spikes",
                 "Non-finite losses", "Diverged runs"], rows,
                caption="Per-step training loss and gradient norm; mean ± std over seeds, counts summed over seeds."))
    s.add(Paragraph("A spike is a step whose gradient norm exceeds 10× the median of the previous 100 steps "
                    "(or is not finite). A lower loss std at the end of training means a steadier optimisation.",
                    note=True))
    return s


def evidence(models) -> list[str]:
    """One sentence on the stability of `models`, for an answer."""
    parts = []
    for m in models:
        measured = _stored(m.done)
        diverged = sum(r.status == "diverged" for r in m.runs)
        if not measured and not diverged:
            continue
        noise = summarize([x.get("loss_std_tail") for x in measured])
        spikes = sum(x.get("grad_spikes") or 0 for x in measured)
        parts.append(f"{m.label} loss std over the last 20% of steps {fmt.mean_std(noise, digits=4)}, "
                     f"{spikes} gradient-norm spikes, {diverged} diverged runs")
    return [f"Training stability (measured): {'; '.join(parts)}."] if parts else []


def example(run):
    return {"steps": 120, "tail_steps": 24, "loss_std_tail": 0.05 + 0.01 * run.rng.random(), "loss_mean_tail": 0.3,
            "nonfinite_losses": 0, "grad_spikes": 1, "grad_spike_steps": [17], "spike_factor": 10.0, "window": 100}


register_analysis(Analysis(
    name="stability",
    description="loss noise over the last 20% of steps, gradient-norm spikes, diverged runs",
    measure=measure, check=check, after_divergence=True, train_settings=train_settings,
    title=TITLE, section=section, evidence=evidence, order=140, example=example))
