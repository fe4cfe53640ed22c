"""Write the reference table of each study in an OUT: one row per finished run with its size,
final accuracies and losses, training time, CPU, commit and code fingerprint
(cnnlab.store.schema.reference), into src/cnnlab/studies/reference/<study>.csv, which
ships with cnnlab: a built-in study's report sets its verdicts beside the reference's.

The reference runs take hours on a 2-core CPU and live in an OUT that a new machine does not
have; the table keeps what the transfer measure needs (benchmarks/transfer.py).

    python benchmarks/reference_table.py OUT [--into src/cnnlab/studies/reference]
    (OUT made by: cnnlab run STUDY --profile reference --data-dir DATA --out OUT)
"""

import argparse
import subprocess
from pathlib import Path

from cnnlab.io import atomic_write_csv
from cnnlab.results import load_results
from cnnlab.store.schema import study_dirs
from cnnlab.store.schema.reference import REFERENCE_COLUMNS


def rows(study) -> list[dict]:
    info, manifest = study.info, study.manifest
    git = (manifest.git or {}).get("commit", "")
    out = []
    for model in study.models:
        for run in model.done:
            config = run.config
            train = config.train if config is not None else {}
            seconds = run.analysis.get("train_seconds")
            out.append({"study": info.name, "profile": info.profile, "dataset": info.dataset, "model": model.name,
                        "label": model.label, "seed": run.seed, "epochs": len(run.metrics),
                        "train_images": info.subset or manifest.train_size, "test_images": manifest.test_size,
                        "batch_size": train.get("batch_size"), "precision": train.get("precision"),
                        "test_acc": run.final("test_acc"), "train_acc": run.final("train_acc"),
                        "test_loss": run.final("test_loss"), "train_loss": run.final("train_loss"),
                        "train_seconds": seconds, "cpu": manifest.cpu_model, "threads": manifest.threads,
                        "torch": manifest.torch_version, "commit": git[:12],
                        "code": config.code if config is not None else manifest.code})
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="an OUT of `cnnlab run --profile reference`, or one study's folder in it")
    parser.add_argument("--into", default=str(Path(__file__).parent.parent / "src" / "cnnlab" / "studies" / "reference"))
    args = parser.parse_args()
    into = Path(args.into)
    into.mkdir(parents=True, exist_ok=True)
    for directory in study_dirs(args.out):
        study = load_results(directory)
        found = rows(study)
        if not found:
            print(f"{study.info.name}: no finished runs, nothing written")
            continue
        path = into / f"{study.info.name}.csv"
        atomic_write_csv(path, found, list(REFERENCE_COLUMNS))
        print(f"{study.info.name}: {len(found)} runs ({study.info.profile} profile) -> {path}")


if __name__ == "__main__":
    main()
