"""The one exception type that means "the user asked for something invalid".

The CLI turns it into a one-line message and exit code 2; everything else is a bug
and keeps its traceback.
"""


class UserError(Exception):
    """Bad input from the user: unknown name, impossible number, missing or corrupt file."""
