"""The `cnnlab models` table: every registered model's parameters and MACs on two input shapes.

MACs (multiply-accumulates) are counted by torch.utils.flop_counter (which counts the
FLOPs of convolutions and matrix products, 2 per MAC) on one forward pass of one image.
Element-wise work (activations, BatchNorm, pooling) is not included.
"""

import torch.nn as nn

from cnnlab.models.cost import count_flops
from cnnlab.models.common import count_params
from cnnlab.models.registry import create_model, list_models, model_entry
from cnnlab.units import si_number

SHAPES = {"1x28x28": (1, 28, 28), "3x32x32": (3, 32, 32)}


def count_macs(model: nn.Module, in_shape) -> int:
    """Multiply-accumulates of one forward pass on a single (C, H, W) input."""
    return count_flops(model, in_shape)["macs"]


def model_rows(num_classes: int = 10) -> list[dict]:
    """One dict per registered model: name, study, description, params_* and macs_* per shape.

    A model that rejects a shape gets None for that shape's numbers.
    """
    rows = []
    for name in list_models():
        entry = model_entry(name)
        row = {"name": name, "study": entry.study, "description": entry.description.rstrip(".")}
        for label, shape in SHAPES.items():
            try:
                model = create_model(name, shape, num_classes)
                row[f"params_{label}"], row[f"macs_{label}"] = count_params(model), count_macs(model, shape)
            except Exception:  # a shape it rejects, or a model of one's own built for another shape
                row[f"params_{label}"] = row[f"macs_{label}"] = None
        rows.append(row)
    return rows


def human(n) -> str:
    """1234567 -> '1.23M', 45600 -> '45.6K', 789 -> '789', None -> '-'."""
    return "-" if n is None else si_number(n, ".3g")


COLUMNS = [
    ("name", "model", False),
    ("study", "study", False),
    ("params_1x28x28", "params 1x28x28", True),
    ("macs_1x28x28", "MACs 1x28x28", True),
    ("params_3x32x32", "params 3x32x32", True),
    ("macs_3x32x32", "MACs 3x32x32", True),
    ("description", "description", False),
]


def format_models_table(rows: list[dict]) -> str:
    """Aligned plain-text table; numbers human-readable and right-aligned."""
    from cnnlab.console import text_table

    cells = [[human(r[key]) if numeric else str(r[key]) for key, _, numeric in COLUMNS] for r in rows]
    right = {i for i, (_, _, numeric) in enumerate(COLUMNS) if numeric}
    return "\n".join(text_table([title for _, title, _ in COLUMNS], cells, right, rule=True))
