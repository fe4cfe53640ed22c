"""Tuning (`--tune`): every model searches the same grid on a validation split, then is compared
at its own best setting; the test set is never read while choosing.

Two models registered here are the same small net, one computing with its weights scaled by 10
and the other by 0.1: under Adam a step moves a weight by about lr whatever its gradient, so
the first learns as if its learning rate were 10x and the second 0.1x. Their best learning
rates differ by 100x, and at the best ones they learn the same function. On a noisy synthetic
task (30% of labels flipped, so accuracies stay off 100% and vary by seed) the first wins at a
shared lr; tuned, the difference is gone.
"""

import hashlib
import json
import math
import re

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import cnnlab
from cnnlab.data import make_synthetic, register_dataset, unregister_dataset
from cnnlab.data.splits import holdout_indices
from cnnlab.models import register_model, unregister_model
from cnnlab.report.answers import answers
from cnnlab.results import load_results
from cnnlab.store.schema import read_study
from cnnlab.studies import runner
from cnnlab.studies.loader import load_study
from cnnlab.studies.options import RunOptions, StudyOptions, sized_study
from cnnlab.studies.tune_spec import resolve_tune

DATASET = "noisy-patterns"
STUDY = """\
name = "lr-pair"
dataset = "noisy-patterns"
epochs = 2
seeds = 3
analyses = []

[train]
batch_size = 32
precision = "fp32"
lr = 1e-3

[tune]
lr = {lr}
seeds = {tune_seeds}
epochs = 2

[[models]]
name = "lr-x10"
label = "Fast"

[[models]]
name = "lr-x0.1"
label = "Slow"

[[questions]]
kind = "pair"
a = "Fast"
b = "Slow"
"""


class Scaled(nn.Module):
    """An MLP that computes with its parameters times `scale` (stored divided by it, so every
    scale starts from the same function): Adam's steps then act `scale` times larger."""

    def __init__(self, in_shape, num_classes, scale: float, hidden: int = 32):
        super().__init__()
        self.scale = scale
        self.hidden = nn.Linear(math.prod(in_shape), hidden)
        self.out = nn.Linear(hidden, num_classes)
        with torch.no_grad():
            for p in self.parameters():
                p /= scale

    def forward(self, x):
        s = self.scale
        h = F.relu(F.linear(x.flatten(1), self.hidden.weight * s, self.hidden.bias * s))
        return F.linear(h, self.out.weight * s, self.out.bias * s)


def noisy_patterns():
    data = make_synthetic(n_train=1000, n_test=500, shape=(1, 12, 12), seed=3)
    gen = torch.Generator().manual_seed(0)
    for labels in (data.train_labels, data.test_labels):
        flip = torch.rand(len(labels), generator=gen) < 0.3
        labels[flip] = torch.randint(0, 10, (int(flip.sum()),), generator=gen)
    data.name = DATASET
    return data


@pytest.fixture(scope="module")
def registered():
    register_model("lr-x10")(lambda in_shape, num_classes: Scaled(in_shape, num_classes, 10.0))
    register_model("lr-x0.1")(lambda in_shape, num_classes: Scaled(in_shape, num_classes, 0.1))
    register_dataset(DATASET, lambda data_dir, download: noisy_patterns(), in_shape=(1, 12, 12), num_classes=10,
                     train_size=1000, test_size=500)
    yield
    unregister_model("lr-x10")
    unregister_model("lr-x0.1")
    unregister_dataset(DATASET)


def _manifest(out, folder):
    return read_study(out / "studies" / folder / "study.json").manifest


@pytest.fixture(scope="module")
def pair(registered, tmp_path_factory):
    """The study at a shared lr, then tuned over lr in {1e-3, 1e-2, 1e-1}, then tuned again with
    the same grid, then with 1e-4 added: what each call trained, and the results."""
    root = tmp_path_factory.mktemp("lr-pair")
    out = root / "out"

    def run(lr, tune, report=False):
        path = root / "study.toml"
        path.write_text(STUDY.format(lr=lr, tune_seeds=2), encoding="utf-8")
        return cnnlab.run(path, out=out, device="cpu", progress=False, tune=tune, report=report)

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CNNLAB_CACHE", str(root / "cache"))
        shared = run("[1e-3, 1e-2, 1e-1]", tune=False)
        tuned = run("[1e-3, 1e-2, 1e-1]", tune=True)
        first = _manifest(out, "lr-pair-tuned")
        run("[1e-3, 1e-2, 1e-1]", tune=True)
        again = _manifest(out, "lr-pair-tuned")
        wider = run("[1e-4, 1e-3, 1e-2, 1e-1]", tune=True, report=True)
        added = _manifest(out, "lr-pair-tuned")
    return {"out": out, "shared": shared, "tuned": tuned, "wider": wider, "first": first, "again": again,
            "added": added, "first_tuning": tuned.results.info.tuning}


@pytest.mark.slow
def test_tuning_reverses_a_ranking_made_at_a_shared_lr_and_the_report_says_so(pair):
    shared, wider = load_results(pair["shared"].dir), load_results(pair["wider"].dir)
    (at_shared,) = answers(shared)
    assert [(c.verdict, c.a.label) for c in at_shared.comparisons] == [("better", "Fast")]
    assert at_shared.comparisons[0].diff.diff > 0.3  # Slow barely learns at 1e-3: its effective lr is 1e-4

    record = wider.info.tuning
    chosen = {m.label: m.chosen for m in record.models}
    assert chosen == {"Fast": {"lr": 0.001}, "Slow": {"lr": 0.1}}  # best learning rates 100x apart
    assert {m.label: m.edge for m in record.models} == {"Fast": {}, "Slow": {"lr": "highest"}}
    (at_tuned,) = answers(wider)
    assert at_tuned.comparisons[0].verdict in ("equivalent", "inconclusive")
    assert abs(at_tuned.comparisons[0].diff.diff) < 0.02  # the same function, learnt at the same effective lr
    assert at_tuned.robust == "changed"
    assert at_tuned.tuning[0].startswith("Changes with tuning: 1 of 1 verdicts differ")
    assert "at shared settings Fast better than Slow by" in at_tuned.tuning[1]

    report = (pair["wider"].dir / "report.md").read_text(encoding="utf-8")
    assert "Shared vs tuned settings: Changes with tuning" in report
    assert "Fast vs Slow: changes with tuning; at shared settings Fast better than Slow by" in report
    assert "tuned, Fast at lr=0.001, Slow at lr=0.1" in report
    assert "Slow: the chosen lr=0.1 is the highest value on the grid: the grid was too narrow" in report
    assert "| Model | lr=0.0001 | lr=0.001 | lr=0.01 | lr=0.1 | Chosen | Tuning runs | Tuning compute |" in report
    assert "every model had the same 8 tuning runs (4 settings × 2 seeds × 2 epochs)" in report


def test_evaluation_runs_train_each_model_at_its_choice_and_reuse_runs_at_the_shared_setting(pair):
    tuned, shared = pair["tuned"].results, pair["shared"].results
    keys = {m.label: [r.key for r in m.runs] for m in tuned.models}
    shared_keys = {m.label: [r.key for r in m.runs] for m in shared.models}
    assert keys["Fast"] == shared_keys["Fast"]  # chose the shared lr: the very same runs, reused
    assert not set(keys["Slow"]) & set(shared_keys["Slow"])
    slow = next(m for m in tuned.models if m.label == "Slow")
    assert {r.config.train["lr"] for r in slow.runs} == {0.1} and {r.seed for r in slow.runs} == {0, 1, 2}
    assert all(r.config.role == "eval" and r.config.train["epochs"] == 2 for r in slow.runs)
    # The first tuned call trained 12 tuning runs and Slow's 3 evaluation runs; Fast's were reused.
    assert (pair["first"].runs_trained, pair["first"].runs_cached) == (15, 3)


def test_a_second_call_trains_nothing_and_a_new_grid_point_trains_only_its_runs(pair):
    assert pair["again"].runs_trained == 0 and pair["again"].runs_cached == 12 + 6
    assert pair["added"].runs_trained == 2 * 2  # lr 1e-4 for two models x two tuning seeds; the choice is the same
    before = {(m.label, json.dumps(p.setting)): [r.run_key for r in p.runs]
              for m in pair["first_tuning"].models for p in m.points}
    after = {(m.label, json.dumps(p.setting)): [r.run_key for r in p.runs]
             for m in pair["wider"].results.info.tuning.models for p in m.points}
    assert {k: after[k] for k in before} == before and len(after) == len(before) + 2


def test_tuning_runs_are_listed_with_their_role(pair, cli):
    code, out, _ = cli("runs", "--out", pair["out"], "--json")
    rows = json.loads(out)
    roles = [r["role"] for r in rows]
    assert code == 0 and roles.count("tune") == 2 * 4 * 2 and roles.count("eval") == 6 + 3
    tune = [r for r in rows if r["role"] == "tune"]
    assert {r["seed"] for r in tune} == {1000, 1001} and {r["epochs"] for r in tune} == {2}
    code, out, _ = cli("runs", "--out", pair["out"])
    assert out.splitlines()[0].split()[:7] == ["study", "profile", "role", "model", "seed", "lr", "wd"]
    assert sum(" tune " in line for line in out.splitlines()) == 16
    # A model's evaluation runs at the shared lr and at its tuned one read apart (before: two "Slow 0 done"
    # rows), in the table, the CSV and the JSON.
    slow = {r["lr"] for r in rows if r["role"] == "eval" and r["label"] == "Slow" and r["seed"] == 0}
    assert slow == {0.001, 0.1}
    assert {line.split()[5] for line in out.splitlines() if line.split()[2:5] == ["eval", "Slow", "0"]} == \
        {"0.001", "0.1"}
    code, csv_text, _ = cli("runs", "--out", pair["out"], "--csv", "-")
    header = csv_text.splitlines()[0].split(",")
    assert {"lr", "weight_decay", "role"} <= set(header)


@pytest.mark.slow
def test_the_tuning_plot_is_in_the_report_and_the_notebook(pair):
    result = pair["wider"]
    assert (result.dir / "plots" / "tuning.png").is_file()
    assert 'alt="Validation accuracy against the learning rate' in (result.dir / "report.html").read_text("utf-8")
    figure = result.figure("tuning")
    ax = figure.axes[0]
    assert ax.get_xscale() == "log" and len(ax.get_legend().get_texts()) == 2
    table = result.tuning
    assert len(table) == 16 and set(table.columns) >= {"model", "lr", "seed", "val_acc", "chosen"}
    chosen = table[table.chosen].groupby("model").lr.first().to_dict()
    assert chosen == {"Fast": 0.001, "Slow": 0.1}


# ---- the test set is never read while choosing -------------------------------------------

class Untouchable(torch.Tensor):
    """A test-set tensor that notes every torch operation on it, and whether it came while armed."""
    armed = False
    touched: list = []

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        cls.touched.append((cls.armed, getattr(func, "__name__", str(func))))
        return super().__torch_function__(func, types, args, kwargs or {})


def _digest(t: torch.Tensor) -> str:
    return hashlib.sha256(t.as_subclass(torch.Tensor).contiguous().cpu().numpy().tobytes()).hexdigest()


def _rows(images: torch.Tensor) -> set[bytes]:
    plain = images.as_subclass(torch.Tensor).contiguous().cpu()
    return {plain[i].numpy().tobytes() for i in range(len(plain))}


@pytest.fixture(scope="module")
def guarded_run(registered, tmp_path_factory):
    """A tuned study whose test images and labels are Untouchable, armed for exactly the tuning
    phase (runner.run_tuning: every tuning run and the choice), with every scoring pass recorded."""
    import cnnlab.train.trainer as trainer
    from cnnlab.studies import run_one

    tmp_path = tmp_path_factory.mktemp("guarded")
    path = tmp_path / "study.toml"
    path.write_text(STUDY.format(lr="[1e-3, 1e-1]", tune_seeds=1).replace("seeds = 3", "seeds = 2"), "utf-8")
    study = sized_study(load_study(path), StudyOptions(tune=True))
    data = noisy_patterns()
    data.test_images = data.test_images.as_subclass(Untouchable)
    data.test_labels = data.test_labels.as_subclass(Untouchable)
    Untouchable.touched = []

    def arm(real):
        def tuning(*args, **kwargs):
            Untouchable.armed = True
            try:
                return real(*args, **kwargs)
            finally:
                Untouchable.armed = False
        return tuning

    current, scored = {}, []
    real_evaluate, real_train = trainer.evaluate, run_one._train_and_analyse

    def evaluate(model, images, labels, *args, **kwargs):
        scored.append((current["spec"], _digest(images), images.as_subclass(torch.Tensor).clone()))
        return real_evaluate(model, images, labels, *args, **kwargs)

    def train_and_analyse(spec, *args, **kwargs):
        current["spec"] = spec
        return real_train(spec, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CNNLAB_CACHE", str(tmp_path / "cache"))
        mp.setattr(runner, "run_tuning", arm(runner.run_tuning))
        mp.setattr(trainer, "evaluate", evaluate)
        mp.setattr(run_one, "_train_and_analyse", train_and_analyse)
        plan = runner.plan_study(study, tmp_path / "out", RunOptions(device="cpu", report=False), data=data)
        info = runner.run_plan(plan)
    return {"info": info, "data": data, "scored": scored, "touched": list(Untouchable.touched)}


@pytest.mark.slow
def test_the_test_set_is_never_read_while_choosing(guarded_run):
    info, touched = guarded_run["info"], guarded_run["touched"]
    assert [m["chosen"] for m in info["tuning"]["models"]] == [{"lr": 0.001}, {"lr": 0.1}]
    statuses = [r["status"] for m in info["tuning"]["models"] for p in m["points"] for r in p["runs"]]
    assert statuses == ["done"] * 4 and [r["status"] for r in info["runs"]] == ["done"] * 4
    assert not [name for armed, name in touched if armed], "the test set was read while choosing"
    # The instrument works: the evaluation runs, after the choice, do read it.
    assert sum(not armed for armed, _ in touched) > 0


def test_validation_images_are_the_same_for_every_model_and_absent_from_the_evaluation_scoring(guarded_run):
    data, scored = guarded_run["data"], guarded_run["scored"]
    tuning = [(spec, digest, images) for spec, digest, images in scored if spec.role == "tune"]
    evaluation = [(spec, digest, images) for spec, digest, images in scored if spec.role == "eval"]
    assert {spec.label for spec, _, _ in tuning} == {"Fast", "Slow"} and len(evaluation) == 2 * 2 * 2  # runs x epochs
    validation = data.train_images[holdout_indices(data.train_labels, 0.1, 0)]
    assert len(validation) == 100
    assert {digest for _, digest, _ in tuning} == {_digest(validation)}  # one split, every model, seed and epoch
    assert {digest for _, digest, _ in evaluation} == {_digest(data.test_images)}
    held_out, scored_in_evaluation = _rows(validation), set().union(*(_rows(images) for _, _, images in evaluation))
    assert held_out <= _rows(data.train_images) and not held_out & scored_in_evaluation


@pytest.mark.slow
def test_a_tuned_suite_links_its_tuned_studies_and_counts_their_tuning_runs(write_study, tmp_path):
    """`cnnlab run all --tune`'s path, on one tiny study: suite.json points at OUT/studies/<name>-tuned."""
    from cnnlab.console import suite_announcement
    from cnnlab.store.schema import read_suite
    from cnnlab.studies.run_all import run_suite, suite_settings

    path = write_study(name="tiny", analyses=[], extra="[tune]\nlr = [0.001]\nseeds = 1\n")
    size, options = StudyOptions(tune=True), RunOptions(device="cpu", workers=1, cpus_per_run=1)
    studies = [sized_study(load_study(path), size)]
    assert suite_announcement("full", studies, "OUT") == ("cnnlab run all (full profile): 1 studies, 4 runs after 2 "
                                                          "tuning runs, into OUT")
    out = tmp_path / "out"
    result = run_suite(studies, out, suite_settings(size, options), options)
    assert result["studies"][0]["dir"] == "studies/tiny-tuned" and result["settings"]["overrides"] == {"tune": True}
    assert read_suite(out / "suite.json").studies[0].dir == "studies/tiny-tuned"
    assert result["invocations"][-1]["runs_trained"] == 2 + 4
    assert "studies/tiny-tuned/report.md" in (out / "report.md").read_text("utf-8")


def test_the_selection_rule_on_known_numbers(write_study):
    """Highest mean validation accuracy over the seeds; a setting where a seed diverged does not
    count; ties go to the lower loss, then to the smaller lr; a model with nothing finished keeps
    the shared setting."""
    from cnnlab.studies.tune_runs import plan_tuning, select, tuned_study

    path = write_study(models=("fc", "simple-cnn", "resnet-basic"), analyses=[],
                       extra="[tune]\nlr = [0.0001, 0.001, 0.01]\nseeds = 2\n")
    study = sized_study(load_study(path), StudyOptions(tune=True))
    tune = resolve_tune(study)
    specs = plan_tuning(study, tune, torch.device("cpu"), n_train=100, threads=1)
    assert len(specs) == 3 * 3 * 2 and len({s.key for s in specs}) == len(specs)
    numbers = {  # (label, lr) -> per seed (status, validation accuracy, loss)
        ("fc", 0.0001): [("done", 0.50, 1.0), ("done", 0.60, 1.0)],
        ("fc", 0.001): [("done", 0.70, 0.9), ("done", 0.80, 0.9)],
        ("fc", 0.01): [("done", 0.95, 0.5), ("diverged", 0.95, 0.5)],  # best-looking, but a seed diverged
        ("simple-cnn", 0.0001): [("done", 0.60, 0.8), ("done", 0.80, 0.8)],
        ("simple-cnn", 0.001): [("done", 0.70, 0.7), ("done", 0.70, 0.7)],  # same mean, lower loss
        ("simple-cnn", 0.01): [("done", 0.70, 0.7), ("done", 0.70, 0.7)],  # a full tie: the smaller lr wins
        ("resnet-basic", 0.0001): [("failed", None, None), ("failed", None, None)],
    }
    summaries = []
    for spec in specs:
        runs = numbers.get((spec.label, spec.setting["lr"]))
        if runs:
            status, acc, loss = runs[spec.seed - 1000]
            summaries.append({"run_key": spec.key, "status": status, "test_acc": acc, "test_loss": loss,
                              "train_seconds": 1.5})
    record = select(study, tune, specs, summaries, train_size=90, validation_size=10)
    by_label = {m.label: m for m in record.models}
    assert by_label["fc"].chosen == {"lr": 0.001} and by_label["fc"].edge == {}
    assert by_label["simple-cnn"].chosen == {"lr": 0.001}
    assert by_label["resnet-basic"].chosen is None and by_label["resnet-basic"].edge == {}
    assert [m.runs for m in record.models] == [6, 6, 6] and by_label["fc"].seconds == 6 * 1.5
    assert [p.mean for p in by_label["fc"].points] == [pytest.approx(0.55), pytest.approx(0.75), None]
    assert {r.status for r in by_label["resnet-basic"].points[1].runs} == {"pending"}
    tuned = {m.label: m.train for m in tuned_study(study, record).models}
    assert tuned == {"fc": {"lr": 0.001}, "simple-cnn": {"lr": 0.001}, "resnet-basic": {}}

    summaries = [{**s, "status": "done"} if s["test_acc"] == 0.95 else s for s in summaries]  # fc at 0.01 counts
    fc = select(study, tune, specs, summaries, 90, 10).models[0]
    assert fc.chosen == {"lr": 0.01} and fc.edge == {"lr": "highest"}


@pytest.mark.slow
def test_cnnlab_run_tune_on_the_command_line(write_study, cli, tmp_path):
    path = write_study(name="tiny", analyses=[], extra="[tune]\nlr = [0.001, 0.01]\nseeds = 1\nepochs = 1\n")
    out = tmp_path / "out"
    code, stdout, stderr = cli("run", path, "--tune", "--out", out, "--device", "cpu", "--quiet", "--no-report")
    assert code == 0, stderr
    lines = stdout.splitlines()
    assert lines[0].startswith("tuning tiny (full profile): 2 models x 2 settings x 1 tuning seeds = 4 runs, 1 epoch each")
    assert "(115 training / 13 validation images; the test images are not used)" in lines[0]
    assert sum(" val acc " in line for line in lines) == 4 and lines[5].startswith("study tiny (full profile)")
    assert "4 done, 0 diverged, 0 failed after 4 tuning runs (0 cached)" in stdout
    # Two settings: every choice is at an end of the grid, and the line says so.
    assert re.search(r"^tuned:   fc at lr=0\.0\d+ \(the (lowest|highest) lr on the grid[^)]*\), "
                     r"simple-cnn at lr=0\.0\d+ \(the (lowest|highest) lr on the grid[^)]*\)$", stdout, flags=re.M)
    assert f"results: {out}/studies/tiny-tuned" in stdout
