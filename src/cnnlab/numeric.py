"""What counts as a number in cnnlab's files: one definition for every reader.

JSON gives back ints, floats, booleans and None; a bool is an int to Python but never a
measurement, and NaN or infinity is what a diverged run leaves, not a value to average.
"""

import math


def is_number(x) -> bool:
    """A finite int or float, and not a bool."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def number(x) -> float | None:
    """`x` as a float when it is a finite number, else None."""
    return float(x) if is_number(x) else None
