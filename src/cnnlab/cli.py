"""The `cnnlab` command line. Each subcommand is a small function; user mistakes become
one line on stderr and exit code 2, never a traceback."""

import argparse
import json
import math
import sys
from pathlib import Path

from cnnlab import __version__
from cnnlab.errors import UserError


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not argparse's usage block
        raise UserError(f"{self.prog}: {message}")


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value


def _non_negative_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _float_above(minimum: float, inclusive: bool):
    """argparse type: a finite number > minimum (or >= with inclusive)."""
    relation = ">=" if inclusive else ">"

    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number {relation} {minimum:g}, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number {relation} {minimum:g}, got {text}")
        if not (value >= minimum if inclusive else value > minimum):
            raise argparse.ArgumentTypeError(f"must be {relation} {minimum:g}, got {text}")
        return value

    return parse


_positive_float = _float_above(0, inclusive=False)
_non_negative_float = _float_above(0, inclusive=True)


def _in_shape(text):
    try:
        shape = tuple(int(s) for s in text.split(","))
    except ValueError:
        shape = ()
    if len(shape) != 3 or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"expected C,H,W like 3,32,32, got {text!r}")
    return shape


def _print_json(obj):
    print(json.dumps(obj, indent=2, default=str))


# ---------------------------------------------------------------- subcommands


def cmd_train(args):
    from cnnlab.studies.loader import single_run_study
    from cnnlab.studies.runner import run_study

    train = {"batch_size": args.batch_size, "lr": args.lr, "optimizer": args.optimizer, "schedule": args.schedule,
             "weight_decay": args.weight_decay, "label_smoothing": args.label_smoothing, "augment": args.augment,
             "precision": args.precision, "grad_flow_every": args.grad_flow_every, "cuda_graphs": args.cuda_graphs}
    study = single_run_study(args.model, args.dataset, args.seed, args.epochs, train, subset=args.subset)
    info = run_study(study, args.out, device=args.device, data_dir=args.data_dir, download=not args.offline,
                     verbosity="lines" if args.quiet else "auto", report=not args.no_report)
    run = info["runs"][0]
    from cnnlab.store.rundir import RunDir

    record = RunDir(Path(args.out) / "runs" / run["run_key"]).load()
    where = f"run directory {Path(args.out) / 'runs' / run['run_key']}"
    if record.status != "done":
        why = f"diverged in epoch {record.analysis.get('diverged_epoch')}" if record.status == "diverged" else (
            f"failed: {record.error}")
        print(f"{args.model} on {args.dataset} {why}; {where}")
        return 1
    summary = record.summary()
    print(f"{args.model} on {args.dataset}: test accuracy {100 * summary['test_acc']:.2f}% after "
          f"{summary['epochs']} epochs ({summary['device']}, {summary['precision']}); {where}")
    for path in info.get("report", []):
        print(f"report: {path}")
    return 0


def cmd_datasets(args):
    from cnnlab.data import dataset_rows

    rows = dataset_rows(args.data_dir)
    if args.json:
        _print_json(rows)
        return 0
    print(f"{'name':18} {'shape':9} {'classes':>7} {'train':>7} {'test':>7}  where")
    for r in rows:
        num = lambda v: "-" if v is None else f"{v:,}"  # noqa: E731
        status = {"found": "", "missing": "NOT FOUND: ", "corrupt": "UNUSABLE: "}[r["state"]] + r["where"]
        print(f"{r['name']:18} {r['shape']:9} {num(r['classes']):>7} {num(r['train']):>7} {num(r['test']):>7}  {status}")
    return 0


def cmd_models(args):
    from cnnlab.models.summary import format_models_table, model_rows

    rows = model_rows()
    if args.json:
        _print_json(rows)
    else:
        print(format_models_table(rows))
    return 0


def cmd_inspect(args):
    from cnnlab.analysis.inspect import format_inspect_table, inspect_model
    from cnnlab.models import check_model, create_model, list_models

    if args.model not in list_models():
        raise UserError(f"unknown model {args.model!r}; valid models: {', '.join(list_models())}")
    try:
        check_model(args.model, args.in_shape, args.num_classes)  # shapes only: no memory, no time
    except ValueError as e:
        raise UserError(f"{args.model} for {'x'.join(map(str, args.in_shape))} inputs and {args.num_classes} "
                        f"classes: {e}") from None
    model = create_model(args.model, in_shape=args.in_shape, num_classes=args.num_classes)
    info = inspect_model(model, args.in_shape)
    if args.json:
        _print_json(info)
    else:
        print(format_inspect_table(info["rows"], info["total_params"], info["total_macs"]))
    return 0


# ---------------------------------------------------------------- parser


def _add_train_options(p):
    from cnnlab.choices import OPTIMIZERS, SCHEDULES

    p.add_argument("--epochs", type=_positive_int, default=5, help="training epochs (default 5)")
    p.add_argument("--batch-size", type=_positive_int, default=128, help="batch size (default 128)")
    p.add_argument("--lr", type=_positive_float, default=1e-3, help="learning rate (default 1e-3)")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="adam")
    p.add_argument("--schedule", choices=SCHEDULES, default="constant")
    p.add_argument("--weight-decay", type=_non_negative_float, default=0.0,
                   help="weight decay of conv and linear weights (biases, norm and custom-layer scalars are "
                        "never decayed)")
    p.add_argument("--label-smoothing", type=_non_negative_float, default=0.0)
    p.add_argument("--augment", action="store_true", help="random crop with padding + horizontal flip")
    p.add_argument("--seed", type=_non_negative_int, default=0)
    p.add_argument("--grad-flow-every", type=_non_negative_int, default=0, metavar="N",
                   help="record per-layer gradient norms every N steps (0 = off)")


def _add_runtime_options(p):
    from cnnlab.choices import PRECISIONS

    p.add_argument("--device", default="auto", help="auto (GPU if present), cpu, cuda, cuda:N")
    p.add_argument("--no-graphs", dest="cuda_graphs", action="store_false",
                   help="on a GPU, run every training step eagerly instead of replaying it from a CUDA graph")
    p.add_argument("--precision", choices=PRECISIONS, default="auto",
                   help="auto = bf16 autocast + channels-last where the hardware supports it")
    p.add_argument("--data-dir", default=None, help="dataset root (default $CNNLAB_DATA or ~/.cache/cnnlab/data)")
    p.add_argument("--offline", action="store_true", help="never try to download datasets")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="cnnlab", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.description = ("Controlled, reproducible experiments comparing image-classification architectures. "
                          "Run `cnnlab COMMAND --help` for a command's options.")
    parser.add_argument("--version", action="version", version=f"cnnlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("train", help="train one model on one dataset", description="Train one model on one dataset.")
    p.add_argument("--model", default="simple-cnn", help="model name (see `cnnlab models`)")
    p.add_argument("--dataset", default="mnist-small", help="dataset name (see `cnnlab datasets`)")
    _add_train_options(p)
    _add_runtime_options(p)
    p.add_argument("--subset", type=_positive_int, default=None, metavar="N",
                   help="train on the first N training images only")
    p.add_argument("--out", default="runs", help="output directory (default runs): the run goes to OUT/runs/KEY "
                   "like a study's; an interrupted run resumes and a finished one is reused")
    p.add_argument("--quiet", action="store_true", help="plain log lines instead of a progress bar")
    p.add_argument("--no-report", action="store_true", help="skip the one-run report")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("datasets", help="list datasets with shape, classes, size and where each was found",
                       description="List datasets and where each was found (or why not).")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_datasets)

    p = sub.add_parser("models", help="list every model with parameters and MACs",
                       description="List every registered model with its study, parameter count and MACs.")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("inspect", help="layer table of a model: shapes, params, MACs, receptive field",
                       description="Per-layer output shape, parameters, MACs, receptive field and jump.")
    p.add_argument("model")
    p.add_argument("--in-shape", type=_in_shape, default=(3, 32, 32), help="C,H,W (default 3,32,32)")
    p.add_argument("--num-classes", type=int, default=10)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_inspect)

    _add_study_commands(sub)
    return parser


def _add_study_commands(sub):
    """Study, results and report commands live beside the study code."""
    from cnnlab.studies.cli import add_commands

    add_commands(sub, _add_runtime_options, _positive_int)


def main(argv=None) -> int:
    from cnnlab.interrupts import handled, terminated

    parser = build_parser()
    try:
        with handled():  # SIGTERM as Ctrl-C; either lets the atomic write in flight finish
            args = parser.parse_args(argv)
            if not getattr(args, "func", None):
                parser.print_help()
                return 0
            return args.func(args) or 0
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        if terminated(e):
            print("terminated", file=sys.stderr)
            return 143
        print("interrupted", file=sys.stderr)
        return 130
