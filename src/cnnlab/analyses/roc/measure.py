"""One-vs-rest ROC curves and their AUC on the test images, from the class probabilities the
model gives through the run's own prediction path (cnnlab.train.passes.batch_logits, which
measures test accuracy too). scikit-learn computes the curves and areas."""

import numpy as np
import torch

from cnnlab.data.core import ImageData
from cnnlab.train.inputs import Inputs
from cnnlab.train.passes import batch_logits

GRID = 101  # false-positive rates at which each class's curve is kept: 0, 0.01, ..., 1


def roc(scores: np.ndarray, labels: np.ndarray, num_classes: int) -> dict:
    """Per class the AUC of "this class against the rest" and its ROC curve's true-positive rate
    on GRID false-positive rates (interpolated, as sklearn's curves are step-wise), and the macro
    AUC (their mean, sklearn's roc_auc_score(multi_class="ovr", average="macro")). A class with no
    test image (or only its images) has no curve: None."""
    from sklearn.metrics import roc_auc_score, roc_curve

    grid = np.linspace(0, 1, GRID)
    aucs, curves = [], []
    for k in range(num_classes):
        positive = labels == k
        if positive.all() or not positive.any():
            aucs.append(None)
            curves.append(None)
            continue
        fpr, tpr, _ = roc_curve(positive, scores[:, k])
        aucs.append(float(roc_auc_score(positive, scores[:, k])))
        curves.append([float(v) for v in np.interp(grid, fpr, tpr)])
    known = [a for a in aucs if a is not None]
    return {"classes": num_classes, "auc": aucs, "macro_auc": float(np.mean(known)) if known else None,
            "fpr": [float(v) for v in grid], "tpr": curves}


def measure_roc(model: torch.nn.Module, data: ImageData, inputs: Inputs, batch_size: int = 1000) -> dict:
    """The model's class probabilities on every test image of `data`, then `roc`."""
    probabilities = [torch.softmax(logits.float(), dim=1).cpu() for _, logits in
                     batch_logits(model, data.test_images, inputs, batch_size)]
    scores = torch.cat(probabilities).double().numpy()
    return roc(scores, data.test_labels.cpu().numpy(), data.num_classes)
