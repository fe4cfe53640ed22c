"""How to spend the 5% over the looks of `--until-decided`: Pocock-type against O'Brien-Fleming-type
spending (cnnlab.stats.sequential.SPENDING), by decided comparisons per 100 seeds.

One pair of models whose true difference is `delta` seed-to-seed spreads, looked at as seeds
accumulate (each look only when the earlier ones did not decide), Welch's test as the verdicts
use it, through `cnnlab.stats.simulate` (the family procedure, vectorised). Prints, per design and
difference, the chance of deciding "better" by the last look, the mean seeds per model spent,
and decisions per 100 seeds; then the average over the differences.

    python benchmarks/spending_designs.py [--looks 6,12,20] [--reps 50000]
"""

import argparse

import numpy as np

from cnnlab.stats.sequential import SPENDING
from cnnlab.stats.simulate import Design, decide


def run(looks, delta, spending, reps, rng):
    values = np.stack([rng.normal(delta, 1, (reps, looks[-1])), rng.normal(0, 1, (reps, looks[-1]))], axis=1)
    seeds = np.full(reps, looks[-1])
    decided = np.zeros(reps, dtype=bool)
    for k in range(1, len(looks) + 1):  # decided by look k: the boundaries of looks <= k only
        now = decide(values[:, :, :looks[k - 1]], Design(tuple(looks[:k]), ((0, 1),), looks[-1], spending=spending))
        new = now["better"][:, 0] & ~decided
        seeds[new] = looks[k - 1]
        decided |= now["better"][:, 0]
    return decided.mean(), seeds.mean()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--looks", default="6,12,20")
    parser.add_argument("--deltas", default="0.5,0.75,1.0,1.5")
    parser.add_argument("--reps", type=int, default=50_000)
    args = parser.parse_args()
    looks = [int(x) for x in args.looks.split(",")]
    deltas = [float(x) for x in args.deltas.split(",")]
    print(f"looks at {looks} seeds per model (plan {looks[-1]}), {args.reps:,} studies per cell")
    totals = {kind: [0.0, 0.0] for kind in SPENDING}
    for delta in deltas:
        cells = []
        for kind in SPENDING:
            power, seeds = run(looks, delta, kind, args.reps, np.random.default_rng(0))
            totals[kind][0] += power
            totals[kind][1] += seeds
            cells.append(f"{kind}: power {power:.3f}, {seeds:.1f} seeds, {100 * power / seeds:.2f} per 100 seeds")
        print(f"delta {delta:4.2f} sd | " + " | ".join(cells))
    for kind, (power, seeds) in totals.items():
        print(f"{kind}: {100 * power / seeds:.2f} decided per 100 seeds over the differences above")


if __name__ == "__main__":
    main()
