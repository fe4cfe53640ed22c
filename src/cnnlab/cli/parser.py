"""Every command and option of `cnnlab`, in one parser. The commands themselves live in
train.py, run.py, results.py and catalog.py beside this file; cli/options.py turns the
parsed options into the settings the Python API takes too."""

import argparse

from cnnlab import settings
from cnnlab.cli import catalog, results, run, train
from cnnlab.errors import UserError
from cnnlab.settings import SettingError
from cnnlab.version import __version__

DEFAULT_OUT = "runs"


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not argparse's usage block
        raise UserError(f"{self.prog}: {message}{self._suggestion(message)}")

    def _suggestion(self, message: str) -> str:
        """For an unknown option, the nearest ones this command has ("--optimiser": "--optimizer")."""
        import difflib

        if not message.startswith("unrecognized arguments:"):
            return ""
        parsers = [self] + [sub for action in self._actions if isinstance(action, argparse._SubParsersAction)
                            for sub in action.choices.values()]
        known = sorted({o for parser in parsers for action in parser._actions for o in action.option_strings
                        if o.startswith("--")})
        close = [match for word in message.split(":", 1)[1].split() if word.startswith("--")
                 for match in difflib.get_close_matches(word.split("=")[0], known, n=1, cutoff=0.7)]
        return f"; did you mean {' or '.join(dict.fromkeys(close))}?" if close else ""


# ---------------------------------------------------------------- value types


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value


def _sizes(text):
    try:
        sizes = sorted({int(s) for s in text.split(",")})
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected training subsets like 1000,3500,10000, got {text!r}") from None
    if len(sizes) < 2 or sizes[0] < 1:
        raise argparse.ArgumentTypeError(f"expected two or more positive training subsets, got {text!r}")
    return sizes


def _shape(text):
    try:
        shape = tuple(int(s) for s in text.split(","))
    except ValueError:
        shape = ()
    if not shape or min(shape) < 1 or len(shape) > 6:
        raise argparse.ArgumentTypeError(f"expected a shape like 2,3,8,8, got {text!r}")
    return shape


def _json_object(text):
    import json

    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object like '{{\"channels\": 3}}', got {text!r}")
    return value


def _in_shape(text):
    try:
        shape = tuple(int(s) for s in text.split(","))
    except ValueError:
        shape = ()
    if len(shape) != 3 or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"expected C,H,W like 3,32,32, got {text!r}")
    return shape


def _name_list(text: str) -> list[str]:
    """"a,b" -> ["a", "b"]; the study loader checks the names (an empty text: no analyses)."""
    return [part.strip() for part in text.split(",") if part.strip()]


def _stand_in(text: str) -> tuple[str, str]:
    """"mnist=mnist-small" -> ("mnist", "mnist-small"); the study loader checks the new name."""
    old, sep, new = (part.strip() for part in text.partition("="))
    if not sep or not old or not new:
        raise argparse.ArgumentTypeError(f"expected OLD=NEW (two dataset names), e.g. mnist=mnist-small; got {text!r}")
    return old, new


# ---------------------------------------------------------------- option groups


def _typed(setting):
    """argparse type of a declared setting: its own parse and check, its own message."""
    def parse(text):
        try:
            return setting.parse(text)
        except SettingError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    return parse


def _add_flag(p, s, help: str):
    """The flag of declared setting `s`, None unless given (only what the command line says
    overrides a study's or the declaration's default)."""
    if s.kind is bool:
        p.add_argument(s.cli_flag, dest=s.name, action="store_const", const=not s.default, default=None, help=help)
    else:
        metavar = "{" + ",".join(s.choices) + "}" if s.choices else ("N" if s.kind is int else "X")
        p.add_argument(s.cli_flag, dest=s.name, type=_typed(s), default=None, metavar=metavar, help=help)


def _add_settings(p, scope: str, default: str = ""):
    """One flag per training setting of `scope` (cnnlab.settings); `default`: how the help names
    the default (else the declared one)."""
    for s in settings.in_scope(scope):
        if s.kind is bool:
            _add_flag(p, s, s.help if s.default is False else f"turn off: {s.help}")
        else:
            _add_flag(p, s, f"{s.help} (default {default or s.default_text})")


def _add_size_options(p, analyses_default: str):
    """What `cnnlab train` and `cnnlab run` both size: data subsets and timing repeats (declared in
    cnnlab.settings.SIZE), and the analyses."""
    for s in settings.SIZE:
        _add_flag(p, s, f"{s.help} (default: the study's{'' if s.default is None else f', {s.default}'})")
    p.add_argument("--analyses", type=_name_list, default=None, metavar="A,B,...",
                   help=f"run these analyses (`cnnlab analyses` lists them) instead of {analyses_default}")


def _add_runtime_options(p):
    p.add_argument("--device", default="auto", help="auto (GPU if present), cpu, cuda, cuda:N")
    p.add_argument("--data-dir", default=None, help="dataset root (default $CNNLAB_DATA or ~/.cache/cnnlab/data)")
    p.add_argument("--offline", action="store_true", help="never try to download datasets")


def _add_executor_options(p):
    from cnnlab.choices import EXECUTORS

    p.add_argument("--executor", choices=EXECUTORS, default="local",
                   help="local (this machine; default) or ray (each run a Ray task)")
    p.add_argument("--workers", type=_positive_int, default=None, metavar="N",
                   help="with --executor local: N worker processes. Default: 1 on the CPU (with --profile quick or "
                        "reference, one single-threaded worker per core); on GPUs, several runs share each GPU (up to 4, as "
                        "its free memory allows)")
    p.add_argument("--ray-address", default=None, metavar="ADDR",
                   help="Ray cluster to join, e.g. 10.0.0.1:6379 or auto (default: start a local one)")
    p.add_argument("--cpus-per-run", type=_positive_int, default=None, metavar="N",
                   help="CPU threads of each run (Ray: CPUs reserved per task when there is no GPU); "
                        "default: the cores shared among workers, 1 under Ray")


# ---------------------------------------------------------------- the parser


def build_parser() -> argparse.ArgumentParser:
    from cnnlab.choices import DEFAULT_PROFILE, PROFILES

    parser = _Parser(prog="cnnlab", description="Controlled, reproducible experiments comparing image-classification "
                                                "architectures. Run `cnnlab COMMAND --help` for a command's options.")
    parser.add_argument("--version", action="version", version=f"cnnlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("train", help="train one model on one dataset", description="Train one model on one dataset.")
    p.add_argument("--model", default="simple-cnn", help="model name (see `cnnlab models`)")
    p.add_argument("--dataset", default="mnist-small", help="dataset name (see `cnnlab datasets`)")
    _add_settings(p, settings.TRAIN_COMMAND)
    _add_runtime_options(p)
    _add_size_options(p, "the default: overfitting, confusion, and grad_flow with --grad-flow-every")
    _add_executor_options(p)
    p.add_argument("--out", default=DEFAULT_OUT, help=f"output directory (default {DEFAULT_OUT}): the run goes to "
                   "OUT/runs/KEY like a study's; an interrupted run resumes and a finished one is reused")
    p.add_argument("--quiet", action="store_true", help="plain log lines instead of a progress bar")
    p.add_argument("--no-report", action="store_true", help="skip the one-run report")
    p.set_defaults(func=train.cmd_train)

    p = sub.add_parser("datasets", help="list datasets with shape, classes, size and where each was found",
                       description="List datasets and where each was found (or why not).")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=catalog.cmd_datasets)

    p = sub.add_parser("analyses", help="list the analyses a study can run (built-in and plug-ins)",
                       description="List every registered analysis: its name, as study files list it, and what "
                                   "it measures.")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=catalog.cmd_analyses)

    p = sub.add_parser("settings", help="list every training setting: default, valid values, flag, where it is set",
                       description="List every training setting (cnnlab.settings): its default, the values it "
                                   "takes, its flag, and where it may be set (a study's [train] table, one model's "
                                   "table, `cnnlab train`, `cnnlab run`).")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=catalog.cmd_settings)

    p = sub.add_parser("models", help="list every model with parameters and MACs",
                       description="List every registered model with its study, parameter count and MACs.")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=catalog.cmd_models)

    p = sub.add_parser("inspect", help="layer table of a model: shapes, params, MACs, receptive field",
                       description="Per-layer output shape, parameters, MACs, receptive field and jump.")
    p.add_argument("model")
    p.add_argument("--in-shape", type=_in_shape, default=(3, 32, 32), help="C,H,W (default 3,32,32)")
    p.add_argument("--num-classes", type=int, default=10)
    p.add_argument("--json", action="store_true")
    p.add_argument("--time", action="store_true",
                   help="also time each top-level block's forward and backward pass (training mode, warm-up, "
                        "median and quartiles of --repeats passes on a batch of --batch-size)")
    p.add_argument("--batch-size", type=_positive_int, default=32, metavar="N", help="with --time (default 32)")
    p.add_argument("--repeats", type=_positive_int, default=20, metavar="N", help="with --time (default 20)")
    p.add_argument("--device", default="cpu", help="with --time: cpu (default), cuda, cuda:N")
    p.add_argument("--precision", choices=("fp32", "bf16", "auto"), default="auto", help="with --time (default auto)")
    p.set_defaults(func=catalog.cmd_inspect)

    p = sub.add_parser("check-layer", help="check a hand-written backward pass: gradcheck, autograd, time",
                       description="Check a layer with its own backward pass (a torch.autograd.Function, an "
                                   "nn.Module or a function of tensors, named as FILE.py:NAME or MODULE:NAME): "
                                   "gradients against finite differences in float64 (torch.autograd.gradcheck), "
                                   "against autograd's own of the same forward where it can tell, and forward and "
                                   "backward time. Exit 0 when it passes, 1 when it does not.")
    p.add_argument("layer", metavar="FILE.py:NAME")
    p.add_argument("--shape", type=_shape, action="append", required=True, metavar="N,C,H,W",
                   help="the shape of a random input (repeat for each tensor input)")
    p.add_argument("--kwargs", type=_json_object, default=None, metavar="JSON",
                   help="arguments to build an nn.Module class with, e.g. '{\"channels\": 3}'")
    p.add_argument("--reference", default=None, metavar="MODULE:NAME",
                   help="a layer or function of the same inputs to time against, e.g. torch.nn.functional:relu")
    p.add_argument("--repeats", type=_positive_int, default=20, metavar="N", help="timed passes (default 20)")
    p.set_defaults(func=catalog.cmd_check_layer)

    p = sub.add_parser("studies", help="list the built-in studies: title, dataset, models, run count",
                       description="List the built-in studies with their title, dataset, models and run count.")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=catalog.cmd_studies)

    p = sub.add_parser("run", help="run a study (built-in name or .toml file), or `all` six, then write the report",
                       description="Train and analyse every (model, seed) of a study, skipping runs already done "
                                   "and resuming interrupted ones, then write its report. `cnnlab run all` runs the "
                                   "six built-in studies into one OUT and writes OUT/report.md and report.html, "
                                   "which answer each course question.")
    p.add_argument("study", metavar="STUDY", nargs="+",
                   help="built-in study name (see `cnnlab studies`), a .toml file, `all` for every built-in study "
                        "and the suite report, or several studies: your own suite, with a suite report of their "
                        "answers")
    p.add_argument("--profile", choices=PROFILES, default=DEFAULT_PROFILE,
                   help="full: the study's own settings (default); quick: its [profiles.quick] settings, sized for "
                        "a 2-core CPU (all six studies in 25 to 40 minutes with bf16, by CPU: see the README; its "
                        "tune table sizes --tune); reference: its [profiles.reference] settings, the larger size the "
                        "quick verdicts are checked against (hours on a CPU). Explicit --epochs, --seeds, --dataset, "
                        "--subset, --test-subset win over the profile")
    p.add_argument("--out", default=DEFAULT_OUT, help=f"output directory (default {DEFAULT_OUT})")
    _add_runtime_options(p)
    _add_settings(p, settings.RUN_COMMAND, default="the study's")
    p.add_argument("--epochs", type=_typed(settings.BY_NAME["epochs"]), default=None, metavar="N",
                   help="override the study's epochs")
    p.add_argument("--seeds", type=_positive_int, default=None, metavar="N", help="run seeds 0..N-1")
    p.add_argument("--dataset", default=None, help="override the study's dataset (see `cnnlab datasets`)")
    p.add_argument("--stand-in", type=_stand_in, action="append", default=None, metavar="OLD=NEW",
                   help="train on dataset NEW wherever a study names OLD, e.g. mnist=mnist-small when MNIST is "
                        "not at hand offline (repeatable; the reports name the dataset used)")
    _add_size_options(p, "the study's own (e.g. leave out inference timing for a fast look)")
    p.add_argument("--tune", action="store_true",
                   help="first search each model's learning rate (the study's [tune] table, or 5 log-spaced points "
                        "around its lr, 2 tuning seeds) on a 10%% validation split of the training images, then "
                        "compare the models each at its own best setting; results go to OUT/studies/NAME-tuned, "
                        "and the report says which answers hold at shared settings (run without --tune too)")
    p.add_argument("--until-decided", action="store_true",
                   help="after the first look, add seeds (doubling) only to the models whose comparisons are still "
                        "inconclusive and decidable within --max-seeds, look again with group-sequential boundaries, "
                        "and stop when every comparison is decided or --budget is spent; cached runs are reused, so "
                        "running it again continues where it stopped")
    p.add_argument("--max-seeds", type=_positive_int, default=None, metavar="N",
                   help="with --until-decided: plan for at most N seeds per model (default 20), before the first "
                        "look; the verdicts spend their 5%% level over the looks by that plan")
    p.add_argument("--sizes", type=_sizes, default=None, metavar="N,N,...",
                   help="run the study at each of these training subsets (images), each into "
                        "OUT/studies/NAME@N, and report how each comparison moves with training size")
    p.add_argument("--budget", default=None, metavar="TIME",
                   help="with --until-decided: wall-clock for the whole command, e.g. 30m, 2h, 1h30m; no look starts "
                        "that would not fit (default: no limit)")
    _add_executor_options(p)
    p.add_argument("--quiet", action="store_true", help="plain log lines instead of progress bars")
    p.add_argument("--no-report", action="store_true",
                   help="write results only; render the report later with `cnnlab report OUT`")
    p.set_defaults(func=run.cmd_run)

    p = sub.add_parser("runs", help="list finished runs from the results index",
                       description="List runs recorded in OUT/index.sqlite, across studies. A run is 'stale' when "
                                   "other code (models, training, data pipeline, analyses) made it than the "
                                   "installed cnnlab's: it is never reused as a result of the current code. Role: eval "
                                   "(a study's result) or tune (a run of --tune's search; its test acc is its "
                                   "validation accuracy).")
    p.add_argument("--out", default=DEFAULT_OUT, help=f"output directory (default {DEFAULT_OUT})")
    p.add_argument("--study", default=None, help="only this study's runs")
    output = p.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true")
    output.add_argument("--csv", nargs="?", const="-", default=None, metavar="FILE",
                        help="one CSV row per run (pandas.read_csv reads it as is), to FILE or to stdout")
    p.add_argument("--stale", action="store_true", help="only runs made by other code than the installed cnnlab's")
    p.add_argument("--prune-stale", action="store_true",
                   help="delete the run directories and index rows of stale runs")
    p.set_defaults(func=results.cmd_runs)

    p = sub.add_parser("report", help="re-render a study's report from its results, without training",
                       description="Re-render report.md and report.html from saved results (no training); for "
                                   "the output directory of `cnnlab run all`, its suite report too.")
    p.add_argument("dir", metavar="DIR", help="OUT/studies/<name>, or OUT to re-render every study in it (and the "
                                              "suite report when OUT has one)")
    p.set_defaults(func=results.cmd_report)

    from cnnlab.choices import DEFAULT_MARGIN_POINTS

    p = sub.add_parser("compare", help="the same models in two result sets: verdict per model and metric",
                       description="Compare the same models (matched by label) between two result sets (quick vs "
                                   "full, CPU vs GPU, before vs after a code change, shared vs tuned settings), per "
                                   "model and metric, with the report's statistics: better, equivalent within the "
                                   "margin, or inconclusive with the seeds that would decide.")
    p.add_argument("dir_a", metavar="DIR_A", help="OUT/studies/<name>, or an OUT (every study it shares with DIR_B)")
    p.add_argument("dir_b", metavar="DIR_B", help="the same for the other result set")
    p.add_argument("--metrics", type=_name_list, default=["test_acc", "train_acc"], metavar="M,N,...",
                   help="metrics to compare (default test_acc,train_acc; e.g. epoch_seconds, latency_ms)")
    p.add_argument("--margin", type=float, default=DEFAULT_MARGIN_POINTS,
                   help="equivalence margin: accuracy points for accuracies, percent of A's mean otherwise (default %(default)g)")
    p.add_argument("--names", nargs=2, dest="names", default=None, metavar=("A", "B"),
                   help="how tables name the two sets (default A B)")
    p.add_argument("--csv", nargs="?", const="-", default=None, metavar="FILE",
                   help="one CSV row per (study, model, metric), to FILE or to stdout")
    p.add_argument("--out", default=None, metavar="DIR", help="also write DIR/report.md and a self-contained "
                                                              "DIR/report.html")
    p.set_defaults(func=results.cmd_compare)
    return parser
