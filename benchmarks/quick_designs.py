"""Decisions per CPU-hour: several study designs (training images x epochs x test images x seeds)
run on the same built-in studies, each from an empty --out, and what each decides.

Why it exists (issue 28): a quick run that decides nothing teaches a student only that the tool
cannot tell. Tiny runs are cheap but noisy; fewer, longer ones may decide more per CPU-hour.
This measures it instead of guessing: for every design, the CPU time of the whole `cnnlab run`
(training, analyses, reports; user + system of the child processes), the wall-clock, the
comparisons the studies' questions decide ("better" or "equivalent") out of those they ask,
decided comparisons per CPU-hour, how those verdicts transfer to the reference size (the tables
shipped in src/cnnlab/studies/reference: agree, opposite, conflicting; issue 35), verdicts that
agree with the reference per CPU-hour, and how strongly the models' seeds are paired (whether a
paired test would buy power). A design that decides more but reverses a reference verdict is
worse, not better: "opposite" and "conflicting" are printed beside every count.

    python benchmarks/quick_designs.py [--studies cifar-kernel-size,cifar-depth]
        [--designs "quick; subset=2000,epochs=3,seeds=3; ..."] [--data-dir ../shared/datasets]

A design is "quick" (each study's [profiles.quick] as it is) or comma-separated overrides on top
of the quick profile: subset, epochs, test_subset, seeds (the flags of `cnnlab run`), and
until=M (`--until-decided --budget Mm`: seeds added only where comparisons are open, within M
minutes for the whole command) with max_seeds=N. Prints one row per design, and the hardware it
ran on. The decided comparisons are counted with the reports' own statistics.
"""

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DESIGNS = ("quick; subset=2000,epochs=3,seeds=3; subset=1000,epochs=6,seeds=3; "
                   "subset=1000,epochs=3,test_subset=2000,seeds=3; subset=2000,epochs=6,seeds=2")
FLAGS = {"subset": "--subset", "epochs": "--epochs", "test_subset": "--test-subset", "seeds": "--seeds",
         "until": "--budget", "max_seeds": "--max-seeds"}


def parse_design(text: str) -> dict:
    text = text.strip()
    if text == "quick":
        return {}
    out = {}
    for part in text.split(","):
        key, _, value = part.partition("=")
        if key.strip() not in FLAGS or not value.strip().isdigit():
            sys.exit(f"design {text!r}: expected quick or key=N pairs with keys {', '.join(FLAGS)}")
        out[key.strip()] = int(value)
    return out


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def decided(out: Path, studies: list[str]) -> tuple[int, int]:
    """(decided, asked): the comparisons of the studies' questions, as their reports answer them."""
    sys.path.insert(0, str(REPO / "src"))
    from cnnlab.report.answers import answers
    from cnnlab.results import load_results

    done = asked = 0
    for name in studies:
        for answer in answers(load_results(out / "studies" / name)):
            asked += len(answer.comparisons)
            done += sum(c.verdict in ("better", "equivalent") for c in answer.comparisons)
    return done, asked


def transfer(out: Path, studies: list[str]) -> dict[str, int]:
    """How the design's verdicts carry to the reference size, counted by kind (cnnlab.report.sizes)."""
    sys.path.insert(0, str(REPO / "src"))
    from cnnlab.results import load_results
    from cnnlab.report.sizes import counts, transfers
    from cnnlab.results.reference import reference_results
    from cnnlab.store.schema.reference import read_reference

    found = []
    for name in studies:
        table = REPO / "src" / "cnnlab" / "studies" / "reference" / f"{name}.csv"
        if table.is_file():
            small = load_results(out / "studies" / name)
            found += transfers(small, reference_results(small.info, read_reference(table), small.dir))
    return counts(found)


def pairing(out: Path, studies: list[str]) -> str:
    """How strongly seed s of one model goes with seed s of another (same data order and
    augmentation draws): the median correlation over every pair of models, and how many pairs a
    paired t-test and Welch's test find different at 5% (unadjusted): does pairing buy power?"""
    import itertools

    import numpy as np
    from scipy import stats

    from cnnlab.results import load_results

    corrs, welch, paired = [], 0, 0
    for name in studies:
        for a, b in itertools.combinations(load_results(out / "studies" / name).models, 2):
            x, y = ({r.seed: r.final("test_acc") for r in m.done} for m in (a, b))
            seeds = sorted(set(x) & set(y))
            if len(seeds) < 3:
                continue
            xs, ys = np.array([x[s] for s in seeds]), np.array([y[s] for s in seeds])
            corrs.append(np.corrcoef(xs, ys)[0, 1])
            welch += stats.ttest_ind(xs, ys, equal_var=False).pvalue < 0.05
            paired += stats.ttest_rel(xs, ys).pvalue < 0.05
    if not corrs:
        return "pairing: fewer than 3 shared seeds"
    return (f"pairing over {len(corrs)} model pairs: per-seed correlation median {np.nanmedian(corrs):.2f}; "
            f"different at 5% (unadjusted): paired t {paired}, Welch {welch}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--studies", default="cifar-kernel-size,cifar-depth",
                        help="comma-separated built-in studies (default: cifar-kernel-size,cifar-depth)")
    parser.add_argument("--designs", default=DEFAULT_DESIGNS, help="designs separated by ';' (see above)")
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "datasets"))
    parser.add_argument("--out", default=None, help="keep the results here (default: a temporary folder)")
    parser.add_argument("--reuse", action="store_true",
                        help="a design whose folder under --out exists is not run again, only counted")
    args = parser.parse_args()
    studies = [s.strip() for s in args.studies.split(",") if s.strip()]
    designs = [d.strip() for d in args.designs.split(";") if d.strip()]
    root = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="cnnlab-designs-"))
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "CNNLAB_CACHE": str(root / "cache")}
    sys.path.insert(0, str(REPO / "src"))
    from cnnlab.train.device import cpu_model  # the name the manifests record

    print(f"{cpu_model()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; studies: {', '.join(studies)}; "
          f"results in {root}")
    print(f"{'design':48} {'wall':>8} {'CPU-h':>7} {'decided':>9} {'per CPU-h':>9} "
          f"{'agree':>5} {'opp.':>4} {'confl.':>6} {'agree/CPU-h':>11}")
    for i, text in enumerate(designs):
        overrides = parse_design(text)
        out = root / f"design{i}"
        argv = [sys.executable, "-m", "cnnlab", "run", *studies, "--profile", "quick", "--out", str(out),
                "--data-dir", args.data_dir, "--offline", "--quiet"]
        for key, value in overrides.items():
            argv += [FLAGS[key], f"{value}m" if key == "until" else str(value)]
        if "until" in overrides or "max_seeds" in overrides:
            argv.append("--until-decided")
        if args.reuse and out.is_dir():
            done, asked = decided(out, studies)
            moved = transfer(out, studies)
            print(f"{text:48} {'(reused)':>16} {done:>4} of {asked:<3} {'':>9} {moved['agree']:>5} "
                  f"{moved['opposite']:>4} {moved['conflicting']:>6} {'':>11}  {pairing(out, studies)}", flush=True)
            continue
        cpu, start = children_cpu(), time.perf_counter()
        result = subprocess.run(argv, env=env, capture_output=True, text=True)
        wall, cpu_hours = time.perf_counter() - start, (children_cpu() - cpu) / 3600
        if result.returncode != 0:
            sys.exit(f"design {text!r} failed:\n{result.stderr[-2000:]}")
        done, asked = decided(out, studies)
        moved = transfer(out, studies)
        print(f"{text:48} {wall:7.0f}s {cpu_hours:7.3f} {done:>4} of {asked:<3} {done / cpu_hours:9.1f} "
              f"{moved['agree']:>5} {moved['opposite']:>4} {moved['conflicting']:>6} "
              f"{moved['agree'] / cpu_hours:11.1f}  {pairing(out, studies)}", flush=True)


if __name__ == "__main__":
    main()
