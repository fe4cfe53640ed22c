"""The receptive-field table's "last spatial layer": the last layer whose units still have
positions, before flatten or global pooling mixes them, on models where it is known."""

import pytest
import torchvision

from cnnlab.analyses.receptive_field.measure import receptive_field
from cnnlab.cli.inspect_table import inspect_rows
from cnnlab.models import create_model
from cnnlab.report import render_report
from cnnlab.analyses.receptive_field import last_spatial_layer
from cnnlab.analyses.receptive_field import view as receptive_field_view
from cnnlab.store.rundir import RunDir
from cnnlab.store.schema import RUNS_DIR, STUDY_FILE, read_study

# (model, input, last spatial layer, its field, its jump): VGG-11 and ResNet-18 fields as
# published (150 px at pool5, 435 px at layer4); cnnlab's nets by hand from their layers:
# cnn-baseline 3 stages of 2 conv3 + pool2 -> 36, jump 8; resnet-basic stem conv3 (3), stage 1
# 4 conv3 (11), stage 2 conv3/2 + 3 conv3 (25, jump 2), stage 3 likewise (53, jump 4); depth-6
# 3 pairs of conv3 with a pool2 between pairs (5, 6; 14, 16; 32), jump 4. Each ends in a global average pool (head.0).
KNOWN = [
    (lambda: torchvision.models.vgg11(weights=None), (3, 224, 224), "avgpool", 150, 32),  # 7x7 -> 7x7: a grid still
    (lambda: torchvision.models.resnet18(weights=None), (3, 224, 224), "layer4.1.relu", 435, 32),
    (lambda: create_model("cnn-baseline", (1, 28, 28), 10), (1, 28, 28), "features.20", 36, 8),
    (lambda: create_model("resnet-basic", (3, 32, 32), 10), (3, 32, 32), "features.8.relu", 53, 4),
    (lambda: create_model("depth-6", (1, 28, 28), 10), (1, 28, 28), "features.13", 32, 4),
]


@pytest.mark.parametrize("build, in_shape, layer, rf, jump", KNOWN, ids=["vgg11", "resnet18", "cnn-baseline",
                                                                      "resnet-basic", "depth-6"])
@pytest.mark.slow
def test_last_spatial_layer_of_known_models(build, in_shape, layer, rf, jump):
    model = build()
    rows = receptive_field_view(receptive_field(model, in_shape))
    last = last_spatial_layer(rows)
    assert (last["layer"], last["rf"], last["jump_text"]) == (layer, rf, f"{jump}×{jump}")
    # `cnnlab inspect` agrees: that row has this field and jump, and no later row has a jump.
    inspected = inspect_rows(model, in_shape)
    index = max(i for i, r in enumerate(inspected) if r["name"] == layer)
    assert inspected[index]["rf"] == [rf, rf] and inspected[index]["jump"] == [jump, jump]
    assert all(r["jump"] is None for r in inspected[index + 1:])


def test_fully_connected_net_has_no_spatial_layer():
    rows = receptive_field_view(receptive_field(create_model("fc", (1, 28, 28), 10), (1, 28, 28)))
    assert last_spatial_layer(rows) is None


@pytest.mark.slow
def test_report_table_names_the_last_spatial_layer(make_study):
    """The study report's table, from analysis.json files holding the real tracer's output."""
    study_dir = make_study(models=(("cnn-baseline", "CNN baseline"), ("resnet-basic", "ResNet basic")),
                           analyses=["receptive_field"], dataset="mnist-small")
    fields = {name: receptive_field(create_model(name, (1, 28, 28), 10), (1, 28, 28))
              for name in ("cnn-baseline", "resnet-basic")}
    for run in read_study(study_dir / STUDY_FILE).runs:
        run_dir = RunDir(study_dir.parent.parent / RUNS_DIR / run.run_key)
        record = run_dir.load()
        assert record.usable, record.problems
        run_dir.write_analysis({**record.analysis, "receptive_field": fields[run.model]})
    md_path, _ = render_report(study_dir, dpi=30)
    md = md_path.read_text(encoding="utf-8")
    assert "| CNN baseline | 36×36 | 8×8 | features.20 |" in md
    assert "| ResNet basic | 53×53 | 4×4 | features.8.relu |" in md
    assert "head.0 |" not in md.split("## Receptive fields")[1].split("|---")[1].split("\n\n")[0]


def test_records_from_before_the_fix_still_skip_global_pooling():
    """analysis.json files written when the tracer gave a global pool a jump."""
    old = receptive_field(create_model("cnn-baseline", (1, 28, 28), 10), (1, 28, 28))
    for row in old["layers"]:
        if row["name"] == "head.0":
            row["jump"] = [24, 24]
    assert last_spatial_layer(receptive_field_view(old))["layer"] == "features.20"
