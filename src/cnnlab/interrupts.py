"""Ctrl-C and SIGTERM (what cluster schedulers send) end `cnnlab` the same way: the atomic
write in flight is finished, then the command stops with one line (exit 130 or 143).

`handled()` installs the handlers for the duration of a command (the main thread only);
`uninterrupted()` marks a write that a signal must not cut short: a signal arriving
inside it is raised when it ends. Outside `handled()` (a notebook, a test) Python's own
SIGINT handling applies and `uninterrupted()` changes nothing.
"""

import signal
import threading
from contextlib import contextmanager


class Terminated(KeyboardInterrupt):
    """SIGTERM: stop as Ctrl-C stops (every `except KeyboardInterrupt` cleans up for it too)."""


_depth = 0  # writes in flight that a signal waits for
_pending = None  # the exception a signal raised inside them
_received = None  # the last signal handled: libraries that catch an interrupt may re-raise a plain one


def terminated(error: KeyboardInterrupt) -> bool:
    """Did this interrupt come from SIGTERM (also when a library turned it into a plain
    KeyboardInterrupt on its way up, as Ray's waits do)?"""
    return isinstance(error, Terminated) or _received == signal.SIGTERM


def _raise(signum, frame):
    global _pending, _received
    _received = signum
    error = Terminated if signum == signal.SIGTERM else KeyboardInterrupt
    if _depth:
        _pending = error
        return
    raise error()


@contextmanager
def uninterrupted():
    global _depth, _pending
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if not _depth and _pending is not None:
            error, _pending = _pending, None
            raise error()


@contextmanager
def handled():
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    global _received
    _received = None
    old = {sig: signal.signal(sig, _raise) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
