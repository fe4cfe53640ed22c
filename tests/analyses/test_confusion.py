"""Confusion matrix on the test set."""

import torch
import torch.nn as nn

from cnnlab.analyses.confusion.measure import confusion_matrix, per_class_accuracy
from cnnlab.data.synthetic import make_synthetic


class AlwaysPredicts(nn.Module):
    def __init__(self, label, num_classes):
        super().__init__()
        self.label, self.num_classes = label, num_classes
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        logits = torch.zeros(len(x), self.num_classes)
        logits[:, self.label] = 1
        return logits


def test_rows_sum_to_class_counts_and_per_class_accuracy_agrees():
    torch.manual_seed(0)
    data = make_synthetic(n_train=20, n_test=97, num_classes=4, shape=(1, 8, 8), seed=1)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 4))
    result = confusion_matrix(model, data, batch_size=16)  # 97 = 6 full batches + 1 image
    m = torch.tensor(result["matrix"])
    assert m.sum(1).tolist() == torch.bincount(data.test_labels, minlength=4).tolist()
    for k in range(4):
        assert result["per_class_accuracy"][k] == m[k, k].item() / m[k].sum().item()
    mean = torch.tensor(data.mean).view(1, -1, 1, 1)
    std = torch.tensor(data.std).view(1, -1, 1, 1)
    with torch.no_grad():
        predicted = model((data.test_images.float() / 255 - mean) / std).argmax(1)
    assert result["accuracy"] == (predicted == data.test_labels).sum().item() / 97
    assert result["classes"] == data.classes and result["count"] == 97


def test_constant_predictor_fills_one_column():
    data = make_synthetic(n_train=20, n_test=40, num_classes=4, shape=(1, 8, 8))
    result = confusion_matrix(AlwaysPredicts(2, 4), data)
    counts = torch.bincount(data.test_labels, minlength=4).tolist()
    assert [row[2] for row in result["matrix"]] == counts
    assert result["per_class_accuracy"] == [0.0, 0.0, 1.0, 0.0]


def test_per_class_accuracy_of_an_absent_class_is_none():
    assert per_class_accuracy([[3, 1], [0, 0]]) == [0.75, None]
