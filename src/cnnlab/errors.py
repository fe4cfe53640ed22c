"""The one exception type that means "the user asked for something invalid".

The CLI turns it into a one-line message and exit code 2; everything else is a bug
and keeps its traceback.
"""


class UserError(Exception):
    """Bad input from the user: unknown name, impossible number, missing or corrupt file."""


def first_line(e: BaseException) -> str:
    """An exception as one short line for a user-facing message (its type if it has no text)."""
    text = str(e).strip()
    return text.splitlines()[0][:300] if text else type(e).__name__
