"""A dataset plugs in from outside the package: registered here, it loads by name, `cnnlab
datasets` lists it, and a study file naming it trains and reports, touching no cnnlab file."""

import json

import pytest
import torch

import cnnlab
from cnnlab.cli import main
from cnnlab.data import (ImageData, channel_stats, dataset_entry, list_datasets, load_dataset, register_dataset,
                         unregister_dataset)
from cnnlab.errors import UserError

TOY = "toy-stripes"
TOY_SHAPE = (3, 8, 8)


def make_toy(n_train=48, n_test=24, seed=0) -> ImageData:
    """Three classes, each a bright colour channel over noise: learnable in one epoch."""
    gen = torch.Generator().manual_seed(seed)

    def sample(n):
        labels = torch.arange(n) % 3
        x = 40 * torch.rand(n, *TOY_SHAPE, generator=gen)
        x[torch.arange(n), labels] += 180
        return x.round().to(torch.uint8), labels

    train_x, train_y = sample(n_train)
    test_x, test_y = sample(n_test)
    mean, std = channel_stats(train_x)
    return ImageData(TOY, ["red", "green", "blue"], train_x, train_y, test_x, test_y, mean, std, "made in a test")


@pytest.fixture
def toy():
    calls = []

    def load(data_dir, download):
        calls.append((data_dir, download))
        return make_toy()

    entry = register_dataset(TOY, load, description="coloured noise, from a test", in_shape=TOY_SHAPE,
                             num_classes=3, train_size=48, test_size=24)
    yield entry, calls
    unregister_dataset(TOY)
    assert TOY not in list_datasets()


def test_a_registered_dataset_loads_by_name_checked(toy, tmp_path):
    entry, calls = toy
    assert dataset_entry(TOY) is entry and list_datasets()[-1] == TOY
    data = load_dataset(TOY, data_dir=tmp_path, download=False)
    assert calls == [(tmp_path, False)]
    assert data.in_shape == TOY_SHAPE and data.num_classes == 3 and len(data.train_labels) == 48
    assert torch.equal(data.train_images, make_toy().train_images)


def test_a_registered_dataset_that_loads_unusable_data_is_refused(tmp_path):
    def load(data_dir, download):
        data = make_toy()
        data.test_labels[0] = 7  # not one of the 3 classes
        return data

    register_dataset("toy-broken", load)
    try:
        with pytest.raises(UserError, match="test label 7 is not a class"):
            load_dataset("toy-broken", data_dir=tmp_path)
    finally:
        unregister_dataset("toy-broken")


def test_cnnlab_datasets_lists_it(toy, tmp_path, capsys):
    assert main(["datasets", "--data-dir", str(tmp_path), "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows[TOY] == {"name": TOY, "shape": "3x8x8", "classes": 3, "train": 48, "test": 24, "available": True,
                         "state": "found", "where": "no files needed", "description": "coloured noise, from a test"}
    assert list(rows)[:2] == ["mnist-small", "mnist"]  # the bundled default still first
    assert main(["datasets", "--data-dir", str(tmp_path)]) == 0
    (line,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith(TOY)]
    assert line.split()[:5] == [TOY, "3x8x8", "3", "48", "24"]


@pytest.mark.slow
def test_a_study_file_naming_it_trains_and_reports(toy, tmp_path):
    _, calls = toy
    study = tmp_path / "toy.toml"
    study.write_text(f'name = "toy-study"\ntitle = "A plugged-in dataset"\ndataset = "{TOY}"\nepochs = 3\nseeds = 3\n'
                     '[train]\nbatch_size = 16\nprecision = "fp32"\n\n[[models]]\nname = "simple-cnn"\n'
                     'label = "Simple CNN"\n', encoding="utf-8")
    result = cnnlab.run(study, out=tmp_path / "out", epochs=1, seeds=2, device="cpu", progress=False)
    runs = result.runs
    assert len(runs) == 2 and runs["usable"].all() and set(runs["status"]) == {"done"}
    assert (runs["test_acc"] > 0.8).all()  # chance is 1/3 on the toy's own test images
    assert calls  # the study's data came from the registered loader
    assert result.report_path is not None and TOY in result.report_path.read_text(encoding="utf-8")


def test_names_are_registered_once_and_families_need_their_argument():
    with pytest.raises(RuntimeError, match="registered twice"):
        register_dataset("mnist-small", lambda data_dir, download: None)
    with pytest.raises(UserError, match="unknown dataset 'toy-nothing'; valid datasets: mnist-small, mnist, "):
        dataset_entry("toy-nothing")
    with pytest.raises(UserError, match="unknown dataset 'imagefolder:'"):
        dataset_entry("imagefolder:")
    family = dataset_entry("imagefolder:photos/cats")
    assert family.name == "imagefolder:PATH" and family.prefix == "imagefolder:" and family.in_shape is None
    assert dataset_entry("mnist-small").bundled and dataset_entry("mnist").prefix is None
