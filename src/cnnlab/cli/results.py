"""`cnnlab runs` and `cnnlab report`: what an output directory holds, without training."""

import json
import sys
from pathlib import Path

from cnnlab.errors import UserError

# ---------------------------------------------------------------- runs


def _open_results_index(out):
    from cnnlab.store.index import open_index
    from cnnlab.store.schema import INDEX_FILE, RUNS_DIR

    if not str(out).strip():
        raise UserError("--out is empty; give the output directory of `cnnlab run`")
    out = Path(out)
    if not (out / INDEX_FILE).is_file() and not (out / RUNS_DIR).is_dir():
        raise UserError(f"no results in {out} (no {INDEX_FILE}, no {RUNS_DIR}/); "
                        "run a study first: cnnlab run STUDY --out DIR")
    return open_index(out)


def cmd_runs(args):
    import shutil

    from cnnlab.console import runs_table
    from cnnlab.fingerprint import code_fingerprint

    current = code_fingerprint()
    with _open_results_index(args.out) as index:
        rows = index.rows(study=args.study)
        for r in rows:
            expected = code_fingerprint(tuple(a for a in (r["analyses"] or "").split(",") if a))
            r["stale"] = expected is not None and r["code"] != expected  # None: an analysis not registered here
        if args.stale or args.prune_stale:
            rows = [r for r in rows if r["stale"]]
        if args.prune_stale:
            for r in rows:
                shutil.rmtree(Path(args.out) / r["run_dir"], ignore_errors=True)
            index.delete([r["run_key"] for r in rows])
            studies = sorted({r["study"] or "?" for r in rows})
            print(f"removed {len(rows)} run(s) made by other code than this cnnlab's ({current})"
                  + (f"; studies affected: {', '.join(studies)} (run them again for current results)" if rows else ""))
            return 0
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if args.csv:
        return _write_runs_csv(rows, args.csv)
    if not rows:
        what = "stale runs" if args.stale else "runs"
        print(f"no {what}{' of study ' + args.study if args.study else ''} in {args.out}")
        return 0
    for line in runs_table(rows):
        print(line)
    stale = sum(r["stale"] for r in rows)
    if stale:
        print(f"\n{stale} run(s) were made by other code than this cnnlab's ({current}): `stale` results are not "
              "reused; list them with --stale, delete them with --prune-stale")
    return 0


def _write_runs_csv(rows: list[dict], target: str) -> int:
    """The index rows as CSV (columns of the index, then `stale`): to stdout for "-"."""
    from cnnlab.io import atomic_write_csv, csv_text
    from cnnlab.store.schema import INDEX_COLUMNS

    columns = [*INDEX_COLUMNS, "stale"]
    if target == "-":
        sys.stdout.write(csv_text(rows, columns))
    else:
        atomic_write_csv(target, rows, columns)
        print(f"{len(rows)} run(s) written to {target}")
    return 0


# ---------------------------------------------------------------- report


def report_dirs(path) -> list[Path]:
    """A study directory (with study.json), or an output directory holding studies/*/study.json."""
    if not str(path).strip():
        raise UserError("DIR is empty; give the output directory of `cnnlab run` or one of its studies/<name>")
    path = Path(path)
    if (path / "study.json").is_file():
        return [path]
    found = sorted(p.parent for p in path.glob("studies/*/study.json"))
    if not found:
        raise UserError(f"no study.json in {path} or {path / 'studies'}/*; pass the output directory of "
                        "`cnnlab run` or one of its studies/<name> directories")
    return found


def cmd_report(args):
    from cnnlab.report import render_report
    from cnnlab.report.suite import render_suite_report
    from cnnlab.store.schema import SUITE_FILE

    for directory in report_dirs(args.dir):
        for path in render_report(directory):
            print(path)
    if (Path(args.dir) / SUITE_FILE).is_file():  # the output directory of `cnnlab run all`
        for path in render_suite_report(args.dir):
            print(path)
    return 0
