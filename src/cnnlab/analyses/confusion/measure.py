"""Confusion matrix on the test set, and the per-class accuracy it implies.

The matrix comes from `cnnlab.train.passes.evaluate`, the function that measures test
accuracy during training, with the run's precision: its accuracy is the run's final test
accuracy, exactly.
"""

import torch
import torch.nn as nn

from cnnlab.data.core import ImageData
from cnnlab.train.inputs import Inputs
from cnnlab.train.precision import FP32
from cnnlab.train.passes import evaluate


def per_class_accuracy(matrix) -> list[float | None]:
    """Diagonal over row sums (rows = true class); None for a class with no test images."""
    m = torch.as_tensor(matrix, dtype=torch.float64)
    totals = m.sum(1)
    return [None if total == 0 else float(m[k, k] / total) for k, total in enumerate(totals)]


def confusion_matrix(model: nn.Module, data: ImageData, inputs: Inputs | None = None,
                     batch_size: int = 1000) -> dict:
    """Predict every test image of `data` and count (true class, predicted class) pairs.

    `inputs`: the run's input pipeline (precision, device); by default fp32 on the device
    of the model's parameters. Returns {"classes": [...], "matrix": [[int]] (row = true
    class, column = prediction), "per_class_accuracy": [float or None], "accuracy": float,
    "count": int}.
    """
    if inputs is None:
        param = next(model.parameters(), None)
        inputs = Inputs(data, FP32, param.device if param is not None else "cpu")
    result = evaluate(model, data.test_images, data.test_labels, inputs, data.num_classes, batch_size)
    return {"classes": list(data.classes), "matrix": result.confusion.tolist(),
            "per_class_accuracy": per_class_accuracy(result.confusion),
            "accuracy": result.accuracy, "count": result.count}
