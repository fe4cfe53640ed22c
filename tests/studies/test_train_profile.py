"""`cnnlab train` (and `cnnlab.train_model`) is a one-run study sized by its own options: it has
no profile, and every listing shows "-" where a study's runs show "full" or "quick"."""

import csv
import json

import pytest


@pytest.mark.slow
def test_a_train_run_has_no_profile(cli, tmp_path):
    out = tmp_path / "out"
    code, stdout, stderr = cli("train", "--model", "fc", "--dataset", "synthetic", "--epochs", 1, "--subset", 64,
                               "--out", out, "--device", "cpu", "--quiet")
    assert code == 0, stderr
    code, stdout, _ = cli("runs", "--out", out, "--json")
    (row,) = json.loads(stdout)
    assert row["profile"] == ""
    code, stdout, _ = cli("runs", "--out", out)
    header, line = stdout.splitlines()[0], stdout.splitlines()[1]
    column = header.index("profile")
    assert line[column:column + len("profile")].strip() == "-"
    study_dir = next((out / "studies").iterdir())
    md = (study_dir / "report.md").read_text(encoding="utf-8")
    assert "profile —" in md and "profile full" not in md and "| profile | — |" in md
    (first, *_) = csv.DictReader((study_dir / "results.csv").open(encoding="utf-8"))
    assert first["profile"] == ""
