"""One study end to end with this code and with an older commit, side by side: wall-clock of
`cnnlab run STUDY` (training, analyses and report) and of `cnnlab report` alone, alternating
which code goes first so that machine noise hits both alike.

Why it exists: a change that makes cnnlab slower shows up first as minutes added to a study,
not in any unit test. The older commit's `src/` is extracted with `git archive` into a temporary
folder and run with this Python and its packages (the same torch), so only cnnlab's own code
differs. Every run starts from an empty --out: nothing is reused.

    python benchmarks/study_vs_commit.py --commit f5d7dbf [--study mnist-fc-vs-cnn] [--profile quick]
        [--data-dir ../shared/datasets] [--pairs 2] [-- extra cnnlab run options]

Prints each pair's seconds and the ratio this code / the commit (below 1.00: this code is faster).
"""

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def extract(commit: str, into: Path) -> Path:
    """The commit's src/ under `into`; returns its src folder."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", commit, "src"], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into / "src"


def timed(src: Path, argv: list[str], cache: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(src), "CNNLAB_CACHE": str(cache)}
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "cnnlab", *argv], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"cnnlab {' '.join(argv)} (PYTHONPATH={src}) failed:\n{result.stderr[-2000:]}")
    return seconds


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commit", required=True, help="the older commit to compare with (e.g. f5d7dbf)")
    parser.add_argument("--study", default="mnist-fc-vs-cnn")
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "datasets"))
    parser.add_argument("--pairs", type=int, default=2, help="runs of each code, alternating (default 2)")
    parser.add_argument("extra", nargs="*", help="more `cnnlab run` options, after --")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="cnnlab-vs-") as tmp:
        tmp = Path(tmp)
        (tmp / "old").mkdir()
        codes = {"this code": REPO / "src", args.commit: extract(args.commit, tmp / "old")}
        print(f"{args.study}, profile {args.profile}: this code vs {args.commit}, {args.pairs} pair(s), "
              f"{cpu_name()}, {os.cpu_count()} CPUs, python {platform.python_version()}")
        run_s = {name: [] for name in codes}
        report_s = {name: [] for name in codes}
        for pair in range(args.pairs):
            order = list(codes) if pair % 2 == 0 else list(codes)[::-1]
            for name in order:
                out = tmp / f"out-{pair}-{'new' if name == 'this code' else 'old'}"
                run = ["run", args.study, "--profile", args.profile, "--data-dir", args.data_dir, "--out", str(out),
                       "--quiet", *args.extra]
                run_s[name].append(timed(codes[name], run, tmp / "cache"))
                report_s[name].append(timed(codes[name], ["report", str(out / "studies" / args.study)], tmp / "cache"))
                print(f"  pair {pair + 1}: {name:>10}  run {run_s[name][-1]:7.1f} s   report {report_s[name][-1]:5.1f} s",
                      flush=True)
        old = args.commit
        for what, seconds in (("cnnlab run (study + report)", run_s), ("cnnlab report", report_s)):
            ratios = [a / b for a, b in zip(seconds["this code"], seconds[old])]
            print(f"{what}: this code {statistics.median(seconds['this code']):.1f} s, {old} "
                  f"{statistics.median(seconds[old]):.1f} s (medians); this code / {old} = "
                  f"{statistics.median(ratios):.2f} (pairs {min(ratios):.2f}-{max(ratios):.2f})")


if __name__ == "__main__":
    main()
