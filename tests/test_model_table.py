"""The `cnnlab models` table: parameter and MAC counts per model and input shape."""

import pytest
import torch.nn as nn

from cnnlab.models import count_params, create_model, list_models
from cnnlab.cli.model_table import format_models_table, human, model_rows

KEYS = {"name", "study", "description", "params_1x28x28", "macs_1x28x28", "params_3x32x32", "macs_3x32x32"}


@pytest.mark.slow
def test_model_rows_and_table():
    rows = model_rows()
    assert [r["name"] for r in rows] == list_models()
    by_name = {r["name"]: r for r in rows}
    for row in rows:
        assert set(row) == KEYS
        assert all(row[k] > 0 for k in KEYS if k.startswith(("params", "macs")))

    # Parameters agree with the built model.
    assert by_name["simple-cnn"]["params_3x32x32"] == count_params(create_model("simple-cnn", (3, 32, 32)))
    # An MLP's MACs per image are exactly its linear weights.
    for shape, label in [((1, 28, 28), "1x28x28"), ((3, 32, 32), "3x32x32")]:
        linears = [m for m in create_model("fc", shape).modules() if isinstance(m, nn.Linear)]
        assert by_name["fc"][f"macs_{label}"] == sum(m.weight.numel() for m in linears)
    # A conv's MACs are its weights times output pixels: simple-cnn on 28x28 (28x28 then 14x14 maps).
    expected = 1 * 32 * 9 * 28 * 28 + 32 * 64 * 9 * 14 * 14 + 64 * 7 * 7 * 128 + 128 * 10
    assert by_name["simple-cnn"]["macs_1x28x28"] == expected

    table = format_models_table(rows)
    lines = table.splitlines()
    assert len(lines) == len(rows) + 2  # header, rule, one line per model
    assert "params 3x32x32" in lines[0] and set(lines[1]) <= {"-", " "}
    for row, line in zip(rows, lines[2:]):
        assert line.startswith(row["name"]) and human(row["params_3x32x32"]) in line
    # Columns are aligned: the study column starts at the same offset on every line.
    offsets = {line.index(row["study"], len(row["name"])) for row, line in zip(rows, lines[2:])}
    assert len(offsets) == 1


def test_human_numbers():
    assert [human(n) for n in (789, 45_600, 1_234_567, 2_500_000_000, None)] == ["789", "45.6K", "1.23M", "2.5G", "-"]


@pytest.mark.slow
def test_a_model_of_ones_own_built_for_one_shape_lists_without_numbers_at_the_other():
    """A registered model of the user's that only runs on 28x28 images (its first layer is fixed)
    is listed with its 1x28x28 numbers and dashes at 3x32x32, not a traceback."""
    from cnnlab.models.registry import register_user_model

    register_user_model("mine-28", lambda *_, **__: nn.Sequential(nn.Flatten(), nn.Linear(784, 7)), "mine.py:Net")
    row = next(r for r in model_rows() if r["name"] == "mine-28")
    assert row["params_1x28x28"] == 784 * 7 + 7 and row["macs_1x28x28"] == 784 * 7
    assert row["params_3x32x32"] is None and row["macs_3x32x32"] is None
    assert "mine-28" in format_models_table([row])
