"""How quick verdicts transfer: each comparison of the built-in studies' questions at the quick
size (an OUT) against the reference table (src/cnnlab/studies/reference/<study>.csv, shipped with cnnlab), classed as agree,
opposite, conflicting (better at one size, equivalent at the other), or undecided at one size or
both (cnnlab.report.sizes), with counts. A quick verdict that the reference decides the other
way is worse than none: the quick profile is designed for zero of those.

    python benchmarks/transfer.py QUICK_OUT [--reference src/cnnlab/studies/reference] [--markdown]
"""

import argparse
from pathlib import Path

from cnnlab.results import load_results
from cnnlab.report.sizes import TRANSFER, counts, transfers
from cnnlab.results.reference import reference_results
from cnnlab.store.schema import study_dirs
from cnnlab.store.schema.reference import read_reference


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="the OUT of the smaller size (e.g. cnnlab run all --profile quick)")
    parser.add_argument("--reference", default=str(Path(__file__).parent.parent / "src" / "cnnlab" / "studies" / "reference"),
                        help="the folder of reference tables (<study>.csv)")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args()
    found, missing = [], []
    for directory in study_dirs(args.out):
        small = load_results(directory)
        table = Path(args.reference) / f"{small.info.name}.csv"
        if not table.is_file():
            missing.append(small.info.name)
            continue
        large = reference_results(small.info, read_reference(table), directory)
        found += [(small.info.name, t) for t in transfers(small, large)]
    header = ["study", "question", "pair", "quick", "reference", "transfer"]
    rows = [[study, t.question, f"{t.a} vs {t.b}" + ("" if t.metric == "test_acc" else f" ({t.metric})"),
             t.verdict_text(t.small), t.verdict_text(t.large), t.kind] for study, t in found]
    if args.markdown:
        print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
        for row in rows:
            print("| " + " | ".join(row) + " |")
    else:
        widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
        for row in [header, *rows]:
            print("  ".join(c.ljust(w) for c, w in zip(row, widths)))
    total = counts([t for _, t in found])
    print(f"\n{len(found)} comparisons: " + ", ".join(f"{total[k]} {k}" for k in TRANSFER if total[k]))
    if missing:
        print(f"no reference table for: {', '.join(missing)}")


if __name__ == "__main__":
    main()
