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
