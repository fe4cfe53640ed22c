"""`cnnlab train`: one model on one dataset, as a one-run study (cnnlab.studies.loader.single_run_study)."""

from pathlib import Path


def cmd_train(args):
    from dataclasses import replace

    from cnnlab.cli.options import run_options, study_options, train_settings
    from cnnlab.console import train_summary
    from cnnlab.store.rundir import RunDir
    from cnnlab.studies.loader import single_run_study
    from cnnlab.studies.options import sized_study
    from cnnlab.studies.runner import run_study

    study = single_run_study(args.model, args.dataset, args.seed, train_settings(args))
    # The dataset made the study (its name and title); the rest sizes it like any study.
    study = sized_study(study, replace(study_options(args), dataset=None))
    info = run_study(study, args.out, run_options(args))
    run = info["runs"][0]
    where = Path(args.out) / "runs" / run["run_key"]
    record = RunDir(where).load()
    print(train_summary(args.model, args.dataset, record, f"run directory {where}"))
    if record.status != "done":
        return 1
    for path in info.get("report", []):
        print(f"report: {path}")
    return 0
