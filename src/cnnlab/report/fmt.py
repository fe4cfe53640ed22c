"""Number formatting shared by the tables and the sentences (plain text, no markup)."""

import math

from cnnlab.stats.summary import Summary
from cnnlab.units import si_number

DASH = "—"


def _ok(x) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)


def count(n) -> str:
    """1234 -> "1.23K", 1234567 -> "1.23M": parameter counts and MACs at a glance."""
    if not _ok(n):
        return DASH
    return si_number(n)


def whole(n) -> str:
    """1234 -> "1,234": image and run counts, exactly."""
    return f"{n:,}" if isinstance(n, int) and not isinstance(n, bool) else DASH


def size(nbytes) -> str:
    if not _ok(nbytes):
        return DASH
    for div, suffix in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if nbytes >= div:
            return f"{nbytes / div:.1f} {suffix}"
    return f"{nbytes:.0f} B"


def num(x, digits: int = 2) -> str:
    return f"{x:.{digits}f}" if _ok(x) else DASH


def seconds(x) -> str:
    if not _ok(x):
        return DASH
    return f"{x:.2f} s" if x < 10 else f"{x:.1f} s" if x < 100 else f"{x:.0f} s"


def possessive(label: str) -> str:
    """A model label as an owner: "Simple CNN's", but "12 layers'" (a plural ending in s)."""
    return f"{label}'" if label.endswith("s") else f"{label}'s"


def pct(x, digits: int = 2) -> str:
    """A fraction in [0, 1] as percent: 0.98123 -> "98.12 %"."""
    return f"{100 * x:.{digits}f} %" if _ok(x) else DASH


def points(x, digits: int = 2, signed: bool = True) -> str:
    """A difference of two fractions in percentage points: 0.0123 -> "+1.23 pts"."""
    if not _ok(x):
        return DASH
    return f"{100 * x:+.{digits}f} pts" if signed else f"{100 * x:.{digits}f} pts"


def mean_std(s: Summary, scale: float = 1.0, digits: int = 2, unit: str = "") -> str:
    """"98.12 ± 0.10 %" (std over seeds); just the mean with one seed."""
    if s.mean is None:
        return DASH
    text = f"{scale * s.mean:.{digits}f}"
    if s.std is not None:
        text += f" ± {scale * s.std:.{digits}f}"
    return text + (f" {unit}" if unit else "")


def ci(s, scale: float = 1.0, digits: int = 2) -> str:
    """"[97.90, 98.34]"; a dash where there is no interval (fewer than two seeds)."""
    if getattr(s, "ci_low", None) is None:
        return DASH
    return f"[{scale * s.ci_low:.{digits}f}, {scale * s.ci_high:.{digits}f}]"


def confidence(c: float) -> str:
    """0.95 -> "95%", 0.9833 -> "98.3%", 0.99696 -> "99.7%": a confidence level, as few digits as tell it."""
    pct = 100 * c
    return f"{pct:.0f}%" if round(pct, 1) == round(pct) else f"{pct:.1f}%"


def pvalue(p) -> str:
    if not _ok(p):
        return DASH
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def p_clause(name: str, p) -> str:
    """"Welch p = 0.012" or "Welch p < 0.001" (never "p = < 0.001")."""
    text = pvalue(p)
    return f"{name} {text}" if text.startswith("<") else f"{name} = {text}"


def sci(x) -> str:
    return f"{x:.1e}" if _ok(x) else DASH


def by_unit(unit: str, x) -> str:
    """A metric's value as its unit (cnnlab.plugins.Metric.unit) says to show it."""
    if not _ok(x):
        return DASH
    shows = {"fraction": pct, "count": lambda v: f"{v:,.0f}", "seconds": seconds, "bytes": size,
             "ms": lambda v: f"{v:.2f} ms", "img/s": lambda v: f"{v:,.0f} img/s", "px": lambda v: f"{v:.0f} px"}
    return shows.get(unit, lambda v: f"{v:.4g}")(x)
