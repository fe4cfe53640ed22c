import pytest
import torch

from cnnlab.io import atomic_torch_save
from cnnlab.store.rundir import RunDir


def test_status_roundtrip_and_clear(tmp_path):
    run = RunDir(tmp_path / "abc")
    assert run.status() is None and run.key == "abc"
    run.set_status("failed")
    run.write_error("ValueError: bad\nthing", "Traceback ...")
    assert run.status() == "failed"
    assert run.error() == "ValueError: bad thing"  # one line
    run.clear_status()
    assert run.status() is None and run.error() is None
    assert not (run.path / "traceback.txt").exists()
    with pytest.raises(ValueError, match="done"):
        run.set_status("finished")


def test_unknown_status_text_reads_as_none(tmp_path):
    run = RunDir(tmp_path)
    (tmp_path / "status").write_text("garbage\n")
    assert run.status() is None


def test_files_and_checkpoint_epoch(tmp_path):
    run = RunDir(tmp_path)
    assert run.config() is None and run.analysis() == {} and run.metrics() == []
    assert run.checkpoint_epoch() == 0
    run.write_config({"model": "fc"})
    run.write_analysis({"macs": 3})
    (tmp_path / "metrics.jsonl").write_text('{"epoch": 1}\n{"epoch": 2}\n')
    atomic_torch_save({"epoch": 2, "model": {"w": torch.zeros(1)}}, tmp_path / "checkpoint.pt")
    assert run.config() == {"model": "fc"} and run.analysis() == {"macs": 3}
    assert [r["epoch"] for r in run.metrics()] == [1, 2]
    assert run.checkpoint_epoch() == 2
    (tmp_path / "checkpoint.pt").write_bytes(b"torn")
    assert run.checkpoint_epoch() == 0
