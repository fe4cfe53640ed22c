"""`cnnlab runs` and `cnnlab report`: what an output directory holds, without training."""

import json
import sys
from pathlib import Path

from cnnlab.errors import UserError, say
from cnnlab.store.schema import STUDY_FILE, study_dirs

# ---------------------------------------------------------------- runs


def _open_results_index(out):
    from cnnlab.store.index import open_index
    from cnnlab.store.schema import INDEX_FILE, RUNS_DIR

    if not str(out).strip():
        raise UserError("--out is empty; give the output directory of `cnnlab run`")
    out = Path(out)
    if not (out / INDEX_FILE).is_file() and not (out / RUNS_DIR).is_dir():
        inside = sorted(p.parent for p in out.glob(f"*/{INDEX_FILE}")) if out.is_dir() else []
        if inside:  # `make demo` writes to runs/demo, and the default --out is runs
            raise UserError(f"no results in {out} itself, but in {', '.join(map(str, inside))}: pass "
                            f"--out {inside[0]}")
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
            expected = code_fingerprint(tuple(a for a in (r["analyses"] or "").split(",") if a),
                                        model_source=r.get("model_source"))
            r["stale"] = expected is not None and r["code"] != expected  # None: an analysis not registered here
        if args.stale or args.prune_stale:
            rows = [r for r in rows if r["stale"]]
        if args.prune_stale:
            from cnnlab.train.tensorboard import remove_run_logs

            for r in rows:
                shutil.rmtree(Path(args.out) / r["run_dir"], ignore_errors=True)
                remove_run_logs(args.out, r["run_key"])
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


def cmd_report(args):
    from cnnlab.report import render_results
    from cnnlab.results import load_results
    from cnnlab.report.suite import render_suite_report
    from cnnlab.store.schema import SUITE_FILE, read_suite

    # Everything is read before anything is written: a damaged study.json or suite.json
    # leaves every report as it was.
    studies = [load_results(directory) for directory in study_dirs(args.dir)]
    suite_file = Path(args.dir) / SUITE_FILE  # the output directory of `cnnlab run all`
    suite = read_suite(suite_file) if suite_file.is_file() else None
    for study in studies:
        for path in render_results(study):
            print(path)
    if suite is not None:
        for path in render_suite_report(args.dir, suite):
            print(path)
    return 0


# ---------------------------------------------------------------- compare


def _pairs_of_studies(dir_a, dir_b) -> list[tuple[Path, Path]]:
    """Study directories to compare: two study directories, or the studies two output
    directories have in common (by name)."""
    a, b = study_dirs(dir_a), study_dirs(dir_b)
    if len(a) == 1 and len(b) == 1 and (Path(dir_a) / STUDY_FILE).is_file():
        return [(a[0], b[0])]
    by_name = {p.name: p for p in b}
    common = [(p, by_name[p.name]) for p in a if p.name in by_name]
    if not common:
        raise UserError(f"{dir_a} and {dir_b} have no study in common; studies: {', '.join(p.name for p in a)} vs "
                        f"{', '.join(p.name for p in b)}")
    return common


def _check_output_file(option: str, path):
    """A file to write (None, or "-" for standard output, passes): not a folder, in one that exists."""
    if path in (None, "-"):
        return
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{option}: {path} is a directory; give a file name (or - for standard output)")
    if not path.parent.is_dir():
        raise UserError(f"{option}: the folder {path.parent} does not exist")


def _make_output_dir(option: str, path: Path):
    if path.exists() and not path.is_dir():
        raise UserError(f"{option}: {path} exists and is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"{option}: cannot create {path}: {e.strerror or e}") from None


def cmd_compare(args):
    from cnnlab.io import atomic_write_csv, csv_text
    from cnnlab.report import write_document
    from cnnlab.report.compare import check_request, compare_document, compare_results, differences_text
    from cnnlab.report.compare import setup_differences, table
    from cnnlab.results import load_results

    def flag(name):
        return "--" + name

    names = tuple(args.names) if args.names else ("A", "B")
    check_request(args.metrics, args.margin, names, flag)
    args.name_a, args.name_b = names
    if Path(args.dir_a).resolve() == Path(args.dir_b).resolve():
        raise UserError(f"DIR_A and DIR_B are the same directory ({args.dir_a}): compare two result sets")
    _check_output_file("--csv", args.csv)
    rows, differences = [], []
    for dir_a, dir_b in _pairs_of_studies(args.dir_a, args.dir_b):
        a, b = load_results(dir_a), load_results(dir_b)
        differences += [f"{dir_a.name}: {d}" for d in setup_differences(a, b)]
        study_rows = compare_results(a, b, args.metrics, args.margin, names, flag)
        rows += [{"study": dir_a.name, **row} for row in study_rows]
    if differences:
        say(f"warning: {differences_text(differences, names)}")
    if args.out:  # accepted input: its folder may now be made, before anything is printed
        _make_output_dir("--out", Path(args.out))
    if args.csv:
        columns = ["study", "model", "mean_a", "mean_b", *[k for k in (rows[0] if rows else {}) if k not in
                                                           ("study", "model", "mean_a", "mean_b")]]
        if args.csv == "-":
            sys.stdout.write(csv_text(rows, columns))
        else:
            atomic_write_csv(args.csv, rows, columns)
            print(f"{len(rows)} comparison(s) written to {args.csv}")
        return 0
    from cnnlab.console import text_table

    header, body = table(rows, names)
    for line in text_table(["study", *header], [[r["study"], *cells] for r, cells in zip(rows, body)]):
        print(line)
    if not rows:
        print("no model has finished runs of these metrics in both result sets")
    decided = sum(r["verdict"] in ("better", "equivalent") for r in rows)
    print(f"\n{decided} of {len(rows)} comparisons decided (better or equivalent within ±{args.margin:g}); "
          f"{args.name_a} = {args.dir_a}, {args.name_b} = {args.dir_b}")
    if args.out:
        doc = compare_document(rows, (Path(args.dir_a), Path(args.dir_b)), names, args.margin, differences)
        for path in write_document(doc, Path(args.out)):
            print(f"page:   {path}")
    return 0
