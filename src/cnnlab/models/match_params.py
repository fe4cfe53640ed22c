"""Parameter matching: find the width at which a model family has a target parameter count.

Fair comparisons need equal budgets: the kernel-size study, for example, widens the 1x1+3x3
net and narrows the 7x7 one until each has as many parameters as the 3x3 net.
"""

from typing import Callable

import torch
import torch.nn as nn

from cnnlab.models.common import count_params


def _param_count(factory: Callable[[float], nn.Module], width) -> int:
    # Build on the meta device: shapes only, no memory or init cost.
    with torch.device("meta"):
        return count_params(factory(width), trainable_only=True)


def match_params(
    factory: Callable[[float], nn.Module],
    target: int,
    lo: float = 0.1,
    hi: float = 10.0,
    *,
    integer: bool = False,
    tol: float = 0.02,
    iters: int = 40,
):
    """Return the width w in [lo, hi] whose `factory(w)` has the parameter count closest to `target`.

    `factory(width)` builds one member of the family; its parameter count must not decrease
    as width grows. With `integer=True` widths are whole numbers (e.g. channel counts);
    otherwise they are floats (e.g. a width multiplier the factory rounds per layer).
    Raises ValueError if the target lies outside [count(lo), count(hi)] or if the best
    width still misses the target by more than `tol` (relative).
    """
    if integer:
        lo, hi = int(lo), int(hi)
    n_lo, n_hi = _param_count(factory, lo), _param_count(factory, hi)
    if not n_lo <= target <= n_hi:
        raise ValueError(
            f"target of {target:,} parameters is outside what widths {lo}..{hi} give "
            f"({n_lo:,}..{n_hi:,}); widen the search range"
        )
    # Bisection keeps count(lo) <= target <= count(hi).
    for _ in range(iters):
        if (integer and hi - lo <= 1) or n_lo == target or n_hi == target:
            break
        mid = (lo + hi) // 2 if integer else (lo + hi) / 2
        n_mid = _param_count(factory, mid)
        if n_mid <= target:
            lo, n_lo = mid, n_mid
        else:
            hi, n_hi = mid, n_mid
    width, n = (lo, n_lo) if target - n_lo <= n_hi - target else (hi, n_hi)
    if abs(n - target) > tol * target:
        raise ValueError(
            f"closest width {width} gives {n:,} parameters, {abs(n - target) / target:.1%} from "
            f"the target {target:,} (allowed: {tol:.0%}); the family is too coarse-grained"
        )
    return width
