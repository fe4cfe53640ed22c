"""Numbers for people: 1234567 -> "1.23M", 75.5 seconds -> "1 min 16 s"."""

import math
import re


def si_number(n, spec: str = ".2f") -> str:
    """Thousands, millions, billions as K, M, G; `spec` formats the mantissa."""
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= div:
            return f"{n / div:{spec}}{suffix}"
    return f"{n:.0f}"


def duration_text(seconds) -> str:
    """"42.0 s", "3 min 05 s", "1 h 02 min"; a dash for a missing or non-finite value."""
    if not isinstance(seconds, (int, float)) or not math.isfinite(seconds):
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    hours, rest = divmod(round(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """1 -> "1 epoch", 3 -> "3 epochs": a count with its noun in the right number."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?:in)?)?(?:(\d+(?:\.\d+)?)s)?$")


def parse_duration(text: str) -> float | None:
    """"90s", "30m", "2h", "1h30m" -> seconds; None when `text` is not such a duration."""
    found = _DURATION.match(text.strip().replace(" ", "").lower()) if isinstance(text, str) else None
    if not found or not any(found.groups()):
        return None
    hours, minutes, seconds = (float(x) if x else 0.0 for x in found.groups())
    return hours * 3600 + minutes * 60 + seconds
