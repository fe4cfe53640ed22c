"""Measurements and analyses of models and training runs. Every function returns plain
dicts of numbers, strings and lists, so results can be written as JSON. (The receptive
field is `cnnlab.analysis.receptive_field.receptive_field`: here that name is its module.)

The names below are imported on first use (PEP 562), so that importing one torch-free module
of this package (`cnnlab.analysis.history`, read by reports) does not import torch."""

import importlib

_WHERE = {
    "capture_activations": "activations", "fixed_test_images": "activations",
    "confusion_matrix": "confusion", "per_class_accuracy": "confusion",
    "effective_receptive_field": "erf",
    "GradFlowRecorder": "grad_flow", "grad_flow_summary": "grad_flow",
    "grad_spike_steps": "history", "overfitting": "history", "training_stability": "history",
    "format_inspect_table": "inspect", "inspect_model": "inspect", "inspect_rows": "inspect",
    "peak_memory": "memory",
    "count_flops": "params_flops", "param_counts": "params_flops",
    "measure_inference": "timing",
}
__all__ = sorted(_WHERE)


def __getattr__(name):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
