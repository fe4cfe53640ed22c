"""Confusion matrix on the test set, and the per-class accuracy it implies."""

import torch
import torch.nn as nn

from cnnlab.data.core import ImageData, normalize


def per_class_accuracy(matrix) -> list[float | None]:
    """Diagonal over row sums (rows = true class); None for a class with no test images."""
    m = torch.as_tensor(matrix, dtype=torch.float64)
    totals = m.sum(1)
    return [None if total == 0 else float(m[k, k] / total) for k, total in enumerate(totals)]


def confusion_matrix(model: nn.Module, data: ImageData, device=None, batch_size: int = 1024) -> dict:
    """Predict every test image of `data` and count (true class, predicted class) pairs.

    `device` defaults to where the model's parameters are. Returns
    {"classes": [...], "matrix": [[int]] (row = true class, column = prediction),
     "per_class_accuracy": [float or None], "accuracy": float, "count": int}.
    """
    if device is None:
        param = next(model.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
    k = data.num_classes
    counts = torch.zeros(k * k, dtype=torch.int64, device=device)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for start in range(0, len(data.test_labels), batch_size):
                images = data.test_images[start:start + batch_size].to(device)
                labels = data.test_labels[start:start + batch_size].to(device)
                predicted = model(normalize(images, data.mean, data.std)).argmax(1)
                # Pair (true, predicted) -> one index, then count all pairs at once.
                counts += torch.bincount(labels * k + predicted, minlength=k * k)
    finally:
        model.train(was_training)
    matrix = counts.view(k, k).cpu()
    total = int(matrix.sum())
    return {"classes": list(data.classes), "matrix": matrix.tolist(),
            "per_class_accuracy": per_class_accuracy(matrix),
            "accuracy": float(matrix.diagonal().sum()) / total if total else 0.0, "count": total}
