"""The `cnnlab` command line: the parser (every command and option, parser.py), one module per
group of commands (train.py, run.py, results.py, catalog.py), and the translation of options
into the settings the Python API shares (options.py). User mistakes become one line on
stderr and exit code 2, never a traceback."""

import os
import sys

from cnnlab.cli.parser import build_parser
from cnnlab.errors import UserError

__all__ = ["build_parser", "main"]


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
        _leave_now_if_ray_is_stuck(2)
        return 2
    except KeyboardInterrupt as e:
        if terminated(e):
            print("terminated", file=sys.stderr)
            return 143
        print("interrupted", file=sys.stderr)
        return 130


def _leave_now_if_ray_is_stuck(code: int) -> None:
    """A ray.init still waiting in its thread (an address that never answers) aborts the
    interpreter's shutdown after our one-line error; exit without the shutdown instead."""
    executors = sys.modules.get("cnnlab.studies.executors")
    if executors is not None and executors.ray_connect_abandoned.is_set():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
