"""The one exception type that means "the user asked for something invalid", and the one
way of telling the user something on the side.

The CLI turns a UserError into a one-line message and exit code 2; everything else is a
bug and keeps its traceback.
"""

import sys


class UserError(Exception):
    """Bad input from the user: unknown name, impossible number, missing or corrupt file."""


def say(text: str):
    """A line for the user on stderr (a note, a warning), kept apart from results on stdout."""
    print(text, file=sys.stderr, flush=True)


def first_line(e: BaseException) -> str:
    """An exception as one short line for a user-facing message (its type if it has no text)."""
    text = str(e).strip()
    return text.splitlines()[0][:300] if text else type(e).__name__


def one_line(e: BaseException, limit: int = 600) -> str:
    """All of an exception's message on one line, for errors whose reason comes after the
    first line (torchvision's "Error downloading X:" lists each mirror's error below it)."""
    text = " ".join(str(e).split())
    return (text[:limit - 3] + "..." if len(text) > limit else text) or type(e).__name__
