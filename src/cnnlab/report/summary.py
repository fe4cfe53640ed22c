"""The summary table's numbers, computed once: per model (highest mean test accuracy first) the
mean and sample std over its finished seeds of each summary metric, the bounded 95% interval of
its test accuracy, parameters, MACs, and seeds done. The report formats them
(`build.summary_section`), the notebook API returns them (`StudyResult.summary`)."""

from cnnlab.plugins import analyses
from cnnlab.report.findings import by_test_accuracy
from cnnlab.results import StudyResults
from cnnlab.stats.summary import summarize, summarize_accuracy

SUMMARY_METRICS = ("train_acc", "test_acc", "test_loss", "train_seconds", "epoch_seconds")


def summary_metrics() -> list[str]:
    """The core summary metrics, then each registered analysis's summary columns."""
    return [*SUMMARY_METRICS, *(c.metric for a in analyses() for c in a.summary_columns)]


def summary_rows(study: StudyResults) -> list[dict]:
    """One dict per model: model, name, params, macs, then `<metric>`, `<metric>_std` and the whole
    `<metric>_summary` (cnnlab.stats.summary.Summary: with its interval), the test accuracy's
    ci_low / ci_high, seeds_done and runs. None where not measured."""
    rows = []
    for model in by_test_accuracy(study.models):
        row = {"model": model.label, "name": model.name, "params": model.first("params"),
               "macs": model.first("macs")}
        for metric in summary_metrics():
            # Accuracies get the report's bounded interval (never outside 0-100 %).
            stats = (summarize_accuracy(model.values(metric), images=study.test_images if "test" in metric else None)
                     if metric.endswith("_acc") else summarize(model.values(metric)))
            row[metric], row[f"{metric}_std"] = stats.mean, stats.std
            if metric == "test_acc":
                row["test_acc_ci_low"], row["test_acc_ci_high"] = stats.ci_low, stats.ci_high
            row[f"{metric}_summary"] = stats
        row["seeds_done"], row["runs"] = len(model.done), len(model.runs)
        rows.append(row)
    return rows
