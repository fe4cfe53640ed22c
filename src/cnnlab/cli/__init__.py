"""The `cnnlab` command line: the parser (every command and option, parser.py), one module per
group of commands (train.py, run.py, results.py, catalog.py), and the translation of options
into the settings the Python API shares (options.py). User mistakes become one line on
stderr and exit code 2, never a traceback."""

import errno
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
            code = args.func(args) or 0
            sys.stdout.flush()  # a closed pipe shows here, inside the handlers below
            return code
    except BrokenPipeError:
        return _closed_pipe()
    except OSError as e:
        if e.errno in PATH_ERRORS and not e.filename:  # writing to stdout: a full disk behind `> file`
            _silence_stdout()
            print(f"error: cannot write the output: {e.strerror}", file=sys.stderr)
            return 2
        if e.errno not in PATH_ERRORS:
            raise
        print(f"error: cannot use {_short(e.filename)}: {e.strerror}", file=sys.stderr)
        return 2
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


# What the OS says about a path the user gave (an --out of 300 characters, a read-only folder, a
# full disk): one line naming the path, as for any other user mistake.
PATH_ERRORS = {errno.ENAMETOOLONG, errno.ELOOP, errno.ENOTDIR, errno.EISDIR, errno.EACCES, errno.EPERM, errno.EROFS,
               errno.ENOSPC, errno.EDQUOT}
SIGPIPE_EXIT = 128 + 13  # how Unix tools end when the reader of their output leaves (`cnnlab models | head`)


def _closed_pipe() -> int:
    """The reader of stdout has gone: stop quietly, as Unix tools do."""
    _silence_stdout()
    return SIGPIPE_EXIT


def _silence_stdout():
    """Point stdout at /dev/null: Python would otherwise complain again when it flushes stdout at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _short(path) -> str:
    """A path for a one-line message: each very long part shortened to its start and length."""
    parts = os.fsdecode(path).split("/")
    return "/".join(p if len(p) <= 40 else f"{p[:20]}...({len(p)} characters)" for p in parts)


def _leave_now_if_ray_is_stuck(code: int) -> None:
    """A ray.init still waiting in its thread (an address that never answers) aborts the
    interpreter's shutdown after our one-line error; exit without the shutdown instead."""
    executors = sys.modules.get("cnnlab.studies.executors")
    if executors is not None and executors.ray_connect_abandoned.is_set():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
