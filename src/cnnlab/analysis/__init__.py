"""Measurements and analyses of models and training runs. Every function returns plain
dicts of numbers, strings and lists, so results can be written as JSON."""

from cnnlab.analysis.activations import capture_activations, fixed_test_images
from cnnlab.analysis.confusion import confusion_matrix, per_class_accuracy
from cnnlab.analysis.erf import effective_receptive_field
from cnnlab.analysis.grad_flow import GradFlowRecorder, grad_flow_summary
from cnnlab.analysis.history import grad_spike_steps, overfitting, training_stability
from cnnlab.analysis.inspect import format_inspect_table, inspect_model, inspect_rows
from cnnlab.analysis.memory import peak_memory
from cnnlab.analysis.params_flops import count_flops, param_counts
from cnnlab.analysis.receptive_field import receptive_field
from cnnlab.analysis.timing import measure_inference

__all__ = [
    "GradFlowRecorder", "capture_activations", "confusion_matrix", "count_flops", "param_counts",
    "effective_receptive_field", "fixed_test_images", "format_inspect_table", "grad_flow_summary", "grad_spike_steps",
    "inspect_model", "inspect_rows", "measure_inference", "overfitting", "peak_memory",
    "per_class_accuracy", "receptive_field", "training_stability",
]
