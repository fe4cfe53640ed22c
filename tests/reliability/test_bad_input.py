"""Every user mistake, on every command and in study files, ends the same way: exit code 2,
exactly one line on stderr starting "error: " and naming what is wrong, no traceback,
nothing on stdout, and nothing written (the working directory is unchanged, to the
modification time of every file).

Each case is (command line, text the error line must contain, files the case needs). The
files are written in real formats: TOML study files, IDX files as the MNIST distribution
has them, image folders of PNGs, .tar.gz archives, results directories."""

import io
import json
import os
import tarfile

import numpy as np
import pytest
from PIL import Image

from .conftest import KILL_STUDY, snapshot

BASE_STUDY = {
    "name": "bad", "dataset": "synthetic", "epochs": 1, "seeds": 1, "subset": 32,
    "analyses": ["overfitting"], "train": {"batch_size": 16, "precision": "fp32"},
    "models": [{"name": "simple-cnn", "kwargs": {"width": 4, "hidden": 16}}],
}


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)  # nan, inf and -inf are TOML floats too
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(map(_toml_value, v)) + "]"
    return "{" + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + "}"


def study_text(models=None, train=None, model=None, **top) -> str:
    """BASE_STUDY as TOML with changes: top-level keys (None deletes one), keys of [train],
    keys of the first model, or a whole list of models."""
    raw = {**BASE_STUDY, **top}
    raw["train"] = {**raw["train"], **(train or {})}
    raw["models"] = models if models is not None else [{**BASE_STUDY["models"][0], **(model or {})}]
    lines = [f"{k} = {_toml_value(v)}" for k, v in raw.items() if k != "models" and v is not None]
    for m in raw["models"]:
        lines += ["", "[[models]]"] + [f"{k} = {_toml_value(v)}" for k, v in m.items()]
    return "\n".join(lines) + "\n"


# ---- files in real formats -----------------------------------------------------------

def write_idx(path, array):
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + array.tobytes())


def mnist_files(n_train=40, n_test=20, train_labels=None, test_labels=None, test_size=28, n_train_labels=None):
    """data/MNIST/raw/ as torchvision expects it, with the given defects."""
    def setup(root):
        rng = np.random.default_rng(0)
        raw = root / "data" / "MNIST" / "raw"
        write_idx(raw / "train-images-idx3-ubyte", rng.integers(0, 256, (n_train, 28, 28)))
        write_idx(raw / "train-labels-idx1-ubyte", train_labels if train_labels is not None
                  else np.arange(n_train if n_train_labels is None else n_train_labels) % 10)
        write_idx(raw / "t10k-images-idx3-ubyte", rng.integers(0, 256, (n_test, test_size, test_size)))
        write_idx(raw / "t10k-labels-idx1-ubyte", test_labels if test_labels is not None else np.arange(n_test) % 10)
    return setup


def damage_idx(name, how):
    def setup(root):
        mnist_files()(root)
        path = root / "data" / "MNIST" / "raw" / name
        data = path.read_bytes()
        path.write_bytes({"truncate": data[:-100], "magic": b"\x00\x00\x0d\x03" + data[4:], "empty": b""}[how])
    return setup


def image_folder(classes=("a", "b"), empty=(), train=True, test=True, size=8, extra=None):
    """imgs/train/<class>/*.png and imgs/test/<class>/*.png; `empty` classes get folders
    in both splits but no images."""
    def setup(root):
        for split, wanted in (("train", train), ("test", test)):
            if not wanted:
                continue
            for k, c in enumerate(classes):
                folder = root / "imgs" / split / c
                folder.mkdir(parents=True)
                if c in empty:
                    continue
                for i in range(3):
                    Image.fromarray(np.full((size, size), 40 * k + 10 * i, np.uint8)).save(folder / f"{i}.png")
        if extra:
            extra(root)
    return setup


def _non_utf8_class(root):
    for split in ("train", "test"):
        os.rename(root / "imgs" / split / "b", os.path.join(os.fsencode(root / "imgs" / split), b"\xff\xfe"))


def _corrupt_png(root):
    (root / "imgs" / "train" / "a" / "0.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")


def _test_only_class(root):
    (root / "imgs" / "test" / "c").mkdir()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(root / "imgs" / "test" / "c" / "0.png")


def archive(how):
    def setup(root):
        if how == "garbage":
            (root / "imgs.tar.gz").write_bytes(b"this is not an archive" * 50)
            return
        image_folder()(root)
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            tar.add(root / "imgs", arcname="imgs")
        data = buffer.getvalue()
        (root / "imgs.tar.gz").write_bytes(data[: len(data) // 2] if how == "truncated" else data[:20])
    return setup


def study_file(text=None, raw: bytes | None = None, name="s.toml"):
    def setup(root):
        path = root / name
        if raw is not None:
            path.write_bytes(raw)
        else:
            path.write_text(text if text is not None else study_text(), encoding="utf-8")
    return setup


def files(*setups):
    def setup(root):
        for s in setups:
            s(root)
    return setup


def file_at(relative, content=b"x"):
    def setup(root):
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return setup


def results_dir(study_json: bytes | None):
    """out/studies/s/ with the given study.json bytes (None: none at all)."""
    def setup(root):
        folder = root / "out" / "studies" / "s"
        folder.mkdir(parents=True)
        if study_json is not None:
            (folder / "study.json").write_bytes(study_json)
    return setup


# ---- the cases -----------------------------------------------------------------------

RUN = ["run", "s.toml", "--out", "out", "--device", "cpu", "--no-report"]
TRAIN = ["train", "--dataset", "synthetic", "--subset", "32", "--epochs", "1", "--out", "out", "--device", "cpu"]
MNIST = ["train", "--model", "fc", "--dataset", "mnist", "--data-dir", "data", "--offline", "--epochs", "1",
         "--out", "out"]
FOLDER = ["train", "--model", "fc", "--dataset", "imagefolder:imgs", "--epochs", "1", "--out", "out"]
ARCHIVE = ["train", "--model", "fc", "--dataset", "imagefolder:imgs.tar.gz", "--epochs", "1", "--out", "out"]


TWO_MODELS = [BASE_STUDY["models"][0], {"name": "fc", "label": "FC", "kwargs": {"hidden": [8]}}]


def study_case(expect, **changes):
    return RUN, expect, study_file(study_text(**changes))


CASES = {
    # -- study files: syntax, encoding, keys
    "toml: syntax error": (RUN, "invalid TOML", study_file('name = "bad\n')),
    "toml: not UTF-8": (RUN, "not a UTF-8 text file", study_file(raw=b'name = "\xff\xfe"\n')),
    "toml: unknown top-level key": study_case("unknown key", learning_rate=0.1),
    "toml: question of an unknown kind": study_case("unknown kind 'biggest'; valid: best, pair",
                                                    questions=[{"kind": "biggest", "models": ["simple-cnn"]}]),
    "toml: question names an unknown model": study_case("unknown model 'resnet-9'; this study's models: simple-cnn",
                                                        questions=[{"kind": "pair", "a": "simple-cnn",
                                                                    "b": "resnet-9"}]),
    "toml: question without its models": study_case("'questions[0].models': missing", questions=[{"kind": "best"}]),
    "toml: question compares a model with itself": study_case("must differ", questions=[
        {"kind": "pair", "a": "simple-cnn", "b": "simple-cnn"}]),
    "toml: question with an unknown key": study_case("'questions[0].modles': unknown key", questions=[
        {"kind": "best", "modles": ["simple-cnn"]}]),
    "toml: question margin of zero": study_case("'questions[0].margin': must be > 0", models=TWO_MODELS,
                                                questions=[{"kind": "pair", "a": "simple-cnn", "b": "FC",
                                                            "margin": 0}]),
    "toml: margin negative": study_case("'margin': must be > 0", margin=-1.0),
    "toml: name ends in -tuned": study_case("reserved for the folder of a study's tuned results", name="bad-tuned"),
    "toml: margin not a number": study_case("'margin': expected a number", margin="one"),
    "toml: question cost of an unknown metric": study_case("unknown metric 'speed'", models=TWO_MODELS, questions=[
        {"kind": "best", "models": ["simple-cnn", "FC"], "costs": ["speed"]}]),
    "toml: claim of an unknown metric": study_case("'claims[0].metric': unknown metric 'speed'", claims=[
        {"their_model": "x", "model": "simple-cnn", "metric": "speed", "value": 1, "dataset": "mnist"}]),
    "toml: claimed accuracy above 100 %": study_case("in percent (0 to 100)", claims=[
        {"their_model": "x", "model": "simple-cnn", "metric": "test_acc", "value": 150, "dataset": "mnist"}]),
    "toml: claim on an unknown dataset": study_case("unknown dataset 'mnistt'", claims=[
        {"their_model": "x", "model": "simple-cnn", "metric": "test_acc", "value": 90, "dataset": "mnistt"}]),
    "toml: name missing": study_case("'name': missing", name=None),
    "toml: dataset missing": study_case("'dataset': missing", dataset=None),
    "toml: epochs missing": study_case("'epochs': missing", epochs=None),
    "toml: models missing": (RUN, "'models': missing", study_file(study_text().split("[[models]]")[0])),
    "toml: models empty": (RUN, "'models': the list of models is empty",
                           study_file("models = []\n" + study_text().split("[[models]]")[0])),
    # -- names and labels
    "toml: name of 300 characters": study_case("at most 128", name="a" * 300),
    "toml: name with a slash": study_case("names a directory", name="a/b"),
    "toml: name with a space": study_case("names a directory", name="my study"),
    "toml: name starting with a dot": study_case("names a directory", name=".hidden"),
    "toml: name empty": study_case("'name': must not be empty", name=""),
    "toml: name not a string": study_case("expected a string", name=7),
    "toml: title with a newline": study_case("printable", title="one\ntwo"),
    "toml: title of 500 characters": study_case("at most 200", title="t" * 500),
    "toml: description of 20000 characters": study_case("at most 10,000", description="d" * 20000),
    "toml: reference of 100 characters": study_case("at most 20", reference="r" * 100),
    "toml: label of 5000 characters": study_case("at most 80", model={"label": "x" * 5000}),
    "toml: label with a newline": study_case("printable", model={"label": "a\nb"}),
    "toml: label with a control character": study_case("printable", model={"label": "a\x1b[31mb"}),
    "toml: label empty": study_case("must not be empty", model={"label": "  "}),
    "toml: label used twice": (RUN, "unique", study_file(study_text(models=[
        {"name": "fc", "label": "net"}, {"name": "simple-cnn", "label": "net"}]))),
    # -- dataset
    "toml: unknown dataset": study_case("unknown dataset 'imagenet'", dataset="imagenet"),
    "toml: image folder without a path": study_case("unknown dataset", dataset="imagefolder:"),
    "toml: image folder that does not exist": study_case("does not exist", dataset="imagefolder:nowhere"),
    "toml: image folder path with NUL": study_case("NUL", dataset="imagefolder:a\x00b"),
    # -- epochs, seeds, subset
    "toml: epochs 0": study_case("'epochs'", epochs=0),
    "toml: epochs negative": study_case("'epochs'", epochs=-1),
    "toml: epochs 10^13": study_case("must be a positive integer up to 100,000", epochs=10**13),
    "toml: epochs a float": study_case("'epochs'", epochs=1.5),
    "toml: epochs a string": study_case("'epochs'", epochs="ten"),
    "toml: epochs a boolean": study_case("'epochs'", epochs=True),
    "toml: seeds 0": study_case("'seeds'", seeds=0),
    "toml: seeds 10^11 (a list of that many)": study_case("up to 1,000", seeds=10**11),
    "toml: seeds empty list": study_case("empty", seeds=[]),
    "toml: seed negative": study_case("'seeds[0]'", seeds=[-1]),
    "toml: seed overflows 64 bits": study_case("'seeds[0]'", seeds=[2**64]),
    "toml: seed above 2^31": study_case("2,147,483,647", seeds=[2**31]),
    "toml: seed repeated": study_case("repeated seed", seeds=[1, 1]),
    "toml: seed a string": study_case("'seeds[0]'", seeds=["a"]),
    "toml: 1001 seeds": study_case("at most 1,000", seeds=list(range(1001))),
    "toml: subset 0": study_case("'subset'", subset=0),
    "toml: subset negative": study_case("'subset'", subset=-5),
    "toml: subset 10^20": study_case("'subset'", subset=10**20),
    # -- analyses
    "toml: unknown analysis": study_case("unknown analysis", analyses=["confusoin"]),
    "toml: analysis twice": study_case("listed twice", analyses=["confusion", "confusion"]),
    "toml: analyses not a list": study_case("'analyses'", analyses="confusion"),
    # -- [train]: finite numbers within bounds, for every training number
    "toml: lr inf": study_case("train.lr", train={"lr": float("inf")}),
    "toml: lr nan": study_case("train.lr", train={"lr": float("nan")}),
    "toml: lr 0": study_case("train.lr", train={"lr": 0.0}),
    "toml: lr negative": study_case("train.lr", train={"lr": -0.1}),
    "toml: lr 100": study_case("train.lr", train={"lr": 100.0}),
    "toml: weight_decay nan": study_case("train.weight_decay", train={"weight_decay": float("nan")}),
    "toml: weight_decay inf": study_case("train.weight_decay", train={"weight_decay": float("inf")}),
    "toml: weight_decay negative": study_case("train.weight_decay", train={"weight_decay": -1.0}),
    "toml: momentum negative": study_case("train.momentum", train={"optimizer": "sgd", "momentum": -0.5}),
    "toml: momentum nan": study_case("train.momentum", train={"optimizer": "sgd", "momentum": float("nan")}),
    "toml: momentum 1": study_case("train.momentum", train={"momentum": 1.0}),
    "toml: label_smoothing 1": study_case("train.label_smoothing", train={"label_smoothing": 1.0}),
    "toml: label_smoothing nan": study_case("train.label_smoothing", train={"label_smoothing": float("nan")}),
    "toml: crop_padding 100000": study_case("train.crop_padding", train={"augment": True, "crop_padding": 100000}),
    "toml: crop_padding negative": study_case("train.crop_padding", train={"crop_padding": -1}),
    "toml: batch_size 10^11": study_case("train.batch_size", train={"batch_size": 10**11}),
    "toml: batch_size 0": study_case("train.batch_size", train={"batch_size": 0}),
    "toml: batch_size a float": study_case("train.batch_size", train={"batch_size": 2.5}),
    "toml: eval_batch_size 10^11": study_case("train.eval_batch_size", train={"eval_batch_size": 10**11}),
    "toml: grad_flow_every negative": study_case("train.grad_flow_every", train={"grad_flow_every": -1}),
    "toml: grad_flow_every 10^12": study_case("train.grad_flow_every", train={"grad_flow_every": 10**12}),
    "toml: unknown optimizer": study_case("train.optimizer", train={"optimizer": "lion"}),
    "toml: unknown schedule": study_case("train.schedule", train={"schedule": "step"}),
    "toml: unknown precision": study_case("train.precision", train={"precision": "fp8"}),
    "toml: augment a string": study_case("train.augment", train={"augment": "yes"}),
    "toml: epochs in [train]": study_case("top-level", train={"epochs": 3}),
    "toml: seed in [train]": study_case("top-level", train={"seed": 3}),
    "toml: unknown train key": study_case("unknown training option", train={"batch_sise": 3}),
    "toml: train not a table": (RUN, "'train'", study_file(study_text().replace(
        'train = {batch_size = 16, precision = "fp32"}', "train = 3"))),
    # -- models
    "toml: model without a name": study_case("models[0].name", models=[{"label": "x"}]),
    "toml: seed_offset negative": study_case("'models[0].seed_offset': must be an integer in [0, 1,000,000], got -1",
                                             models=[{"name": "fc", "seed_offset": -1}]),
    "toml: seed_offset a string": study_case("'models[0].seed_offset'", models=[{"name": "fc", "seed_offset": "x"}]),
    "toml: unknown model": study_case("unknown model 'resnet-9000'", models=[{"name": "resnet-9000"}]),
    "toml: unknown model key": study_case("models[0].width", model={"width": 3}),
    "toml: unknown model argument": study_case("models[0].kwargs.widht", model={"kwargs": {"widht": 3}}),
    "toml: negative width": study_case("negative dimension", model={"kwargs": {"width": -3}}),
    "toml: zero width": study_case("no units", model={"kwargs": {"width": 0}}),
    "toml: width a string": study_case("cannot be built", model={"kwargs": {"width": "wide"}}),
    "toml: width of terabytes": study_case("parameters", model={"kwargs": {"width": 10**8}}),
    "toml: dropout nan": study_case("finite", models=[{"name": "residual-cnn-reg", "kwargs": {"dropout": float("nan")}}]),
    "toml: negative hidden layer": study_case("negative dimension", models=[{"name": "fc", "kwargs": {"hidden": [64, -1]}}]),
    "toml: hidden layers a number": study_case("cannot be built", models=[{"name": "fc", "kwargs": {"hidden": 5.5}}]),
    "toml: images too small for the model": (RUN, "at least 4x4", files(
        study_file(study_text(dataset="imagefolder:imgs", subset=None)), image_folder(size=3))),
    "toml: subset above the dataset's size": (RUN, "asks for 32 training images, but imagefolder:imgs has 6", files(
        study_file(study_text(dataset="imagefolder:imgs")), image_folder())),
    "toml: regularisation-only override": study_case("regularisation", model={"train": {"lr": 0.1}}),
    "toml: model weight_decay inf": study_case("models[0].train.weight_decay",
                                               model={"train": {"weight_decay": float("inf")}}),
    "toml: the same run twice": (RUN, "would be one run", study_file(study_text(models=[
        {"name": "fc", "label": "a"}, {"name": "fc", "label": "b"}]))),
    # -- `cnnlab run` options
    "run: --epochs 0": (RUN + ["--epochs", "0"], "--epochs", study_file()),
    "run: --epochs 10^13": (RUN + ["--epochs", str(10**13)], "--epochs", study_file()),
    "run: --seeds 0": (RUN + ["--seeds", "0"], "--seeds", study_file()),
    "run: --seeds 10^11": (RUN + ["--seeds", str(10**11)], "--seeds", study_file()),
    "run: --subset 0": (RUN + ["--subset", "0"], "--subset", study_file()),
    "run: --subset 10^20": (RUN + ["--subset", str(10**20)], "--subset", study_file()),
    "run: --dataset unknown": (RUN + ["--dataset", "imagenet"], "unknown dataset", study_file()),
    "run: --stand-in without =": (RUN + ["--stand-in", "synthetic"], "expected OLD=NEW", study_file()),
    "run: --stand-in without new": (RUN + ["--stand-in", "synthetic="], "expected OLD=NEW", study_file()),
    "run: --stand-in unknown new": (RUN + ["--stand-in", "synthetic=imagenet"], "unknown dataset 'imagenet'",
                                    study_file()),
    "run: --stand-in for a dataset no study uses": (RUN + ["--stand-in", "mnist=mnist-small"],
                                                    "no study of this run uses dataset 'mnist'", study_file()),
    "run all: --stand-in typo": (["run", "all", "--out", "out", "--stand-in", "minst=mnist-small"],
                                 "no study of this run uses dataset 'minst'; they use: cifar10, mnist", None),
    "run all: --stand-in for what the quick profile replaced": (
        ["run", "all", "--profile", "quick", "--out", "out", "--stand-in", "mnist=fashion-mnist"],
        "they use: cifar10, mnist-small", None),
    "run: --stand-in with --dataset": (RUN + ["--dataset", "synthetic", "--stand-in", "synthetic=mnist-small"],
                                       "give one of them", study_file()),
    "run all: MNIST missing offline": (["run", "all", "--out", "out", "--data-dir", "data", "--offline"],
                                       "or train study mnist-fc-vs-cnn on another dataset: --stand-in mnist=NEW",
                                       None),
    "run: --precision fp8": (RUN + ["--precision", "fp8"], "--precision", study_file()),
    "run: --workers 0": (RUN + ["--workers", "0"], "--workers", study_file()),
    "run: --workers 100000": (RUN + ["--workers", "100000"], "--workers", study_file()),
    "run: --cpus-per-run 0": (RUN + ["--cpus-per-run", "0"], "--cpus-per-run", study_file()),
    "run: --cpus-per-run 10^12": (RUN + ["--cpus-per-run", str(10**12)], "--cpus-per-run", study_file()),
    "run: --inference-repeats 0": (RUN + ["--inference-repeats", "0"], "--inference-repeats", study_file()),
    "run: --inference-repeats 10^12": (RUN + ["--inference-repeats", str(10**12)], "--inference-repeats",
                                       study_file()),
    "run: --executor unknown": (RUN + ["--executor", "dask"], "--executor", study_file()),
    "run: --workers with Ray": (RUN + ["--executor", "ray", "--workers", "2"], "--workers is for", study_file()),
    "run: --ray-address not an address": (RUN + ["--executor", "ray", "--ray-address", "nonsense"],
                                          "HOST:PORT", study_file()),
    "run: --out empty": (["run", "s.toml", "--out", ""], "--out is empty", study_file()),
    "run: --out blank": (["run", "s.toml", "--out", "  "], "--out is empty", study_file()),
    "run: --out is a file": (["run", "s.toml", "--out", "s.toml"], "not a directory", study_file()),
    "run: --out inside a file": (["run", "s.toml", "--out", "s.toml/out"], "is a file", study_file()),
    "run: --out/runs is a file": (RUN, "not a directory", files(study_file(), file_at("out/runs"))),
    "run: --out/studies/NAME is a file": (RUN, "not a directory", files(study_file(), file_at("out/studies/bad"))),
    "run: --out not UTF-8": (["run", "s.toml", "--out", "out\udcff"], "UTF-8", study_file()),
    "run: --device tpu": (RUN + ["--device", "tpu"], "device", study_file()),
    "run: --device cuda:99": (["run", "s.toml", "--out", "out", "--device", "cuda:99"], "cuda", study_file()),
    "run: unknown study name": (["run", "no-such-study", "--out", "out"], "unknown study", None),
    "run: study file missing": (["run", "missing.toml", "--out", "out"], "not found", None),
    "run: unknown option": (RUN + ["--learning-rate", "3"], "unrecognized arguments", study_file()),
    "run: no study": (["run"], "STUDY", None),
    # -- `cnnlab train`
    "train: unknown model": (TRAIN + ["--model", "resnet-9000"], "unknown model", None),
    "train: model name of 5000 characters": (TRAIN + ["--model", "x" * 5000], "unknown model", None),
    "train: unknown dataset": (["train", "--dataset", "imagenet", "--out", "out"], "key '--dataset': unknown dataset",
                               None),
    "train: --lr inf": (TRAIN + ["--lr", "inf"], "--lr", None),
    "train: --lr nan": (TRAIN + ["--lr", "nan"], "--lr", None),
    "train: --lr negative": (TRAIN + ["--lr", "-1"], "--lr", None),
    "train: --lr 1e6": (TRAIN + ["--lr", "1e6"], "argument --lr: must be", None),
    "train: --weight-decay nan": (TRAIN + ["--weight-decay", "nan"], "--weight-decay", None),
    "train: --weight-decay inf": (TRAIN + ["--weight-decay", "inf"], "--weight-decay", None),
    "train: --label-smoothing 1.5": (TRAIN + ["--label-smoothing", "1.5"], "argument --label-smoothing: must be", None),
    "train: --batch-size 10^11": (TRAIN + ["--batch-size", str(10**11)], "argument --batch-size: must be", None),
    "train: --batch-size 0": (TRAIN + ["--batch-size", "0"], "--batch-size", None),
    "train: --seed 10^20": (TRAIN + ["--seed", str(10**20)], "argument --seed: must be", None),
    "train: --seed negative": (TRAIN + ["--seed", "-1"], "--seed", None),
    "train: --epochs 10^13": (TRAIN + ["--epochs", str(10**13)], "argument --epochs: must be", None),
    "train: --epochs not a number": (TRAIN + ["--epochs", "five"], "--epochs", None),
    "train: --subset 0": (TRAIN + ["--subset", "0"], "--subset", None),
    "train: --grad-flow-every negative": (TRAIN + ["--grad-flow-every", "-1"], "--grad-flow-every", None),
    "train: --optimizer unknown": (TRAIN + ["--optimizer", "lion"], "unknown optimizer 'lion'; valid:", None),
    "train: --schedule unknown": (TRAIN + ["--schedule", "step"], "unknown schedule 'step'; valid:", None),
    "train: --momentum 1": (TRAIN + ["--momentum", "1"], "argument --momentum: must be a number in [0, 1), got 1", None),
    "train: --crop-padding 10^6": (TRAIN + ["--crop-padding", str(10**6)], "argument --crop-padding: must be", None),
    "train: --test-subset 0": (TRAIN + ["--test-subset", "0"], "--test-subset", None),
    "train: --subset above the dataset's size": (TRAIN + ["--subset", "999999"],
                                                  "subset 999,999 asks for 999,999 training images, but synthetic "
                                                  "has 2,000", None),
    "train: --test-subset above the dataset's size": (TRAIN + ["--test-subset", "100000"],
                                                       "asks for 100,000 test images, but synthetic has 500", None),
    "train: --analyses unknown": (TRAIN + ["--analyses", "confusoin"], "key '--analyses[0]': unknown analysis", None),
    "train: --inference-repeats 10^12": (TRAIN + ["--inference-repeats", str(10**12)], "argument --inference-repeats: must be a positive integer up to 10,000",
                                         None),
    "train: --workers 100000": (TRAIN + ["--workers", "100000"], "--workers must be", None),
    "train: --workers with Ray": (TRAIN + ["--executor", "ray", "--workers", "2"], "--workers is for", None),
    "train: --out empty": (TRAIN + ["--out", ""], "--out is empty", None),
    "train: --out is a file": (TRAIN + ["--out", "taken"], "not a directory", file_at("taken")),
    "train: dataset missing offline": (["train", "--dataset", "cifar10", "--data-dir", "data", "--offline",
                                        "--out", "out"], "not found offline", None),
    "train: MNIST missing offline": (["train", "--dataset", "mnist", "--data-dir", "data", "--offline", "--out", "out"],
                                     "--stand-in mnist=mnist-small", None),
    "run: MNIST missing offline": (["run", "mnist-fc-vs-cnn", "--data-dir", "data", "--offline", "--out", "out"],
                                   "--dataset mnist-small", None),
    "train: --data-dir empty": (MNIST[:6] + ["", "--offline", "--out", "out"], "--data-dir is empty", None),
    # -- data: IDX files (MNIST layout)
    "data: IDX training label 200": (MNIST, "label 200", mnist_files(train_labels=np.full(40, 200))),
    "data: IDX test label 10": (MNIST, "label 10", mnist_files(test_labels=np.full(20, 10))),
    "data: IDX file with no images": (MNIST, "no train images", mnist_files(n_train=0)),
    "data: IDX test file with no images": (MNIST, "no test images", mnist_files(n_test=0)),
    "data: IDX images and labels disagree": (MNIST, "40 train images but 30 labels", mnist_files(n_train_labels=30)),
    "data: IDX train and test sizes differ": (MNIST, "both splits need one size", mnist_files(test_size=32)),
    "data: IDX truncated": (MNIST, "truncated", damage_idx("train-images-idx3-ubyte", "truncate")),
    "data: IDX bad magic number": (MNIST, "bad magic number", damage_idx("t10k-labels-idx1-ubyte", "magic")),
    "data: IDX empty file": (MNIST, "corrupt IDX file", damage_idx("train-labels-idx1-ubyte", "empty")),
    # -- data: image folders and archives
    "data: class folder empty in both splits": (FOLDER, "['c'] have no training images",
                                                image_folder(classes=("a", "b", "c"), empty=("c",))),
    "data: class folder name not UTF-8": (FOLDER, "not valid UTF-8", image_folder(extra=_non_utf8_class)),
    "data: unreadable image": (FOLDER, "unreadable image", image_folder(extra=_corrupt_png)),
    "data: no test split": (FOLDER, "no images under test", image_folder(test=False)),
    "data: no training split": (FOLDER, "no images under train", image_folder(train=False)),
    "data: test class without training images": (FOLDER, "['c'] have no training images",
                                                 image_folder(extra=_test_only_class)),
    "data: a single class": (FOLDER, "at least 2", image_folder(classes=("a",))),
    "data: archive of garbage": (ARCHIVE, "cannot read archive", archive("garbage")),
    "data: truncated archive": (ARCHIVE, "cannot read archive", archive("truncated")),
    "data: archive cut after 20 bytes": (ARCHIVE, "cannot read archive", archive("header")),
    # -- inspect
    "inspect: unknown model": (["inspect", "resnet-9000"], "unknown model", None),
    "inspect: input of terabytes": (["inspect", "simple-cnn", "--in-shape", "3,100000,100000"], "at most", None),
    "inspect: input too small": (["inspect", "simple-cnn", "--in-shape", "1,2,2"], "at least 4x4", None),
    "inspect: zero channels": (["inspect", "fc", "--in-shape", "0,28,28"], "C,H,W", None),
    "inspect: shape not numbers": (["inspect", "fc", "--in-shape", "a,b,c"], "C,H,W", None),
    "inspect: shape of two numbers": (["inspect", "fc", "--in-shape", "28,28"], "C,H,W", None),
    "inspect: zero classes": (["inspect", "fc", "--num-classes", "0"], "num_classes", None),
    "inspect: negative classes": (["inspect", "fc", "--num-classes", "-3"], "num_classes", None),
    "inspect: 10^13 classes": (["inspect", "fc", "--num-classes", str(10**13)], "parameters", None),
    "inspect: classes not a number": (["inspect", "fc", "--num-classes", "ten"], "--num-classes", None),
    "inspect: no model": (["inspect"], "model", None),
    # -- runs
    "runs: no results there": (["runs", "--out", "nothing"], "no results in", None),
    "runs: the results are one folder down": (["runs", "--out", "runs"], "but in runs/demo: pass --out runs/demo",
                                              file_at("runs/demo/index.sqlite", b"")),
    "runs: --out is a file": (["runs", "--out", "taken"], "no results in", file_at("taken")),
    "runs: --out empty": (["runs", "--out", ""], "--out is empty", None),
    "runs: unknown option": (["runs", "--out", "out", "--all"], "unrecognized arguments", None),
    # -- report
    "report: directory missing": (["report", "nothing"], "no study.json", None),
    "report: empty": (["report", ""], "DIR is empty", None),
    "report: a file": (["report", "taken"], "no study.json", file_at("taken")),
    "report: study.json corrupt": (["report", "out/studies/s"], "not a valid study file",
                                   results_dir(b'{"schema": 2, "runs": [')),
    "report: study.json not UTF-8": (["report", "out/studies/s"], "not a valid study file",
                                     results_dir(b'{"name": "\xff"}')),
    "report: study.json of an older cnnlab": (["report", "out/studies/s"], "older cnnlab",
                                              results_dir(b'{"schema": 1, "runs": []}')),
    "report: study.json not an object": (["report", "out/studies/s"], "not a valid study file", results_dir(b"[]")),
    "report: output directory without studies": (["report", "out"], "no study.json", results_dir(None)),
    # -- compare
    "compare: a directory with itself": (["compare", "out", "out/"], "same directory", results_dir(None)),
    "compare: --metrics names none": (["compare", "a", "b", "--metrics", ""], "names no metric", None),
    "compare: --csv is a directory": (["compare", "a", "b", "--csv", "taken"], "is a directory",
                                      lambda root: (root / "taken").mkdir()),
    "compare: --csv in a missing folder": (["compare", "a", "b", "--csv", "no/such.csv"], "does not exist", None),
    # -- paths the OS refuses: one line naming the path
    "run: --out with a 300-character folder name": (RUN + ["--out", "o" * 300], "File name too long", study_file()),
    "train: --out with a 300-character folder name": (TRAIN + ["--out", "o" * 300], "File name too long", None),
    "runs: --out with a 300-character folder name": (["runs", "--out", "o" * 300], "File name too long", None),
    "report: a 300-character folder name": (["report", "o" * 300], "File name too long", None),
    # -- the other commands
    "datasets: --data-dir empty": (["datasets", "--data-dir", ""], "--data-dir is empty", None),
    "datasets: unknown option": (["datasets", "--all"], "unrecognized arguments", None),
    "models: unknown option": (["models", "--frobnicate"], "unrecognized arguments", None),
    "studies: unknown option": (["studies", "--name", "x"], "unrecognized arguments", None),
    "unknown command": (["frobnicate"], "invalid choice", None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_exits_2_with_one_line_and_writes_nothing(case, cli, tmp_path, monkeypatch):
    argv, expect, setup = CASES[case]
    work = tmp_path / "work"
    work.mkdir()
    if setup:
        setup(work)
    monkeypatch.chdir(work)
    before = snapshot(work)
    code, stdout, stderr = cli(*argv)
    lines = stderr.splitlines()
    assert code == 2, stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr
    assert expect in lines[0], lines[0]
    assert stdout == ""
    assert snapshot(work) == before, "files were written although the input was rejected"


def test_out_not_writable(cli, tmp_path, monkeypatch):
    if os.geteuid() == 0:
        pytest.skip("root may write anywhere")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    (tmp_path / "s.toml").write_text(KILL_STUDY)
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    code, _, stderr = cli("run", "s.toml", "--out", "locked/out")
    assert code == 2 and stderr.count("\n") == 1 and "not writable" in stderr
    assert snapshot(tmp_path) == before


def test_the_case_list_covers_every_command():
    commands = {argv[0] for argv, _, _ in CASES.values()}
    assert {"train", "run", "runs", "report", "datasets", "models", "inspect", "studies"} <= commands
    assert len(CASES) >= 150


def test_datasets_lists_a_truncated_idx_set_as_unusable(cli, tmp_path):
    """`cnnlab datasets` reads the IDX headers: a truncated file is not reported as found."""
    damage_idx("train-images-idx3-ubyte", "truncate")(tmp_path)
    code, stdout, _ = cli("datasets", "--data-dir", tmp_path / "data", "--json")
    assert code == 0
    row = {r["name"]: r for r in json.loads(stdout)}["mnist"]
    assert row["available"] is False and row["state"] == "corrupt" and "truncated" in row["where"]
    code, stdout, _ = cli("datasets", "--data-dir", tmp_path / "data")
    (line,) = [line for line in stdout.splitlines() if line.startswith("mnist ")]
    assert "UNUSABLE: corrupt IDX file" in line and "train-images-idx3-ubyte" in line
    mnist_files()(tmp_path)  # whole files again
    code, stdout, _ = cli("datasets", "--data-dir", tmp_path / "data", "--json")
    assert {r["name"]: r for r in json.loads(stdout)}["mnist"]["state"] == "found"
