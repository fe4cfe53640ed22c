import json

import pytest
import torch

import cnnlab.io as cio


def test_failed_write_keeps_the_previous_file_whole(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.pt"
    cio.atomic_torch_save({"epoch": 1, "w": torch.ones(3)}, path)

    def crash_midway(obj, f):
        f.write(b"half a checkpoint")
        raise RuntimeError("killed")

    monkeypatch.setattr(torch, "save", crash_midway)
    with pytest.raises(RuntimeError):
        cio.atomic_torch_save({"epoch": 2}, path)
    assert cio.load_checkpoint(path)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]  # no temp file left


def test_json_roundtrip(tmp_path):
    path = tmp_path / "m.json"
    cio.atomic_write_json(path, {"b": [1, 2.5], "a": None})
    text = path.read_text(encoding="utf-8")
    assert json.loads(text) == {"a": None, "b": [1, 2.5]}
    assert text.endswith("\n") and text.index('"a"') < text.index('"b"')  # sorted keys: stable bytes to diff
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]  # no temp file left


def test_load_checkpoint_refuses_pickled_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save({"x": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(Exception, match="holds Python objects.*not loaded"):
        cio.load_checkpoint(tmp_path / "evil.pt")


def test_the_sweep_leaves_another_live_process_write_in_flight_alone(tmp_path):
    """Two invocations on one output directory: the second's sweep of killed writes' temp files
    must not delete the first's study.json write in flight (seen once in CI as FileNotFoundError)."""
    import os
    import subprocess
    import sys

    from cnnlab.io import remove_temp_files

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        alive = tmp_path / f".study.json.pid{child.pid}.x1.tmp"
        dead = tmp_path / ".study.json.pid999999999.x2.tmp"  # no such process
        unnamed = tmp_path / ".study.json.x3.tmp"  # an older cnnlab's: its writer is unknown
        mine = tmp_path / f".study.json.pid{os.getpid()}.x4.tmp"  # this process was killed mid-write before
        for path in (alive, dead, unnamed, mine):
            path.write_text("half")
        remove_temp_files(tmp_path)
        assert sorted(p.name for p in tmp_path.iterdir()) == [alive.name]
    finally:
        child.kill()
        child.wait()
