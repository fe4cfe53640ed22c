"""Numbers for people: 1234567 -> "1.23M"."""


def si_number(n, spec: str = ".2f") -> str:
    """Thousands, millions, billions as K, M, G; `spec` formats the mantissa."""
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= div:
            return f"{n / div:{spec}}{suffix}"
    return f"{n:.0f}"
