"""`cnnlab train`: one model on one dataset, as a one-run study (cnnlab.studies.loader.single_run_study)."""

from pathlib import Path


def cmd_train(args):
    from dataclasses import replace

    from cnnlab import settings
    from cnnlab.cli.options import given_settings, run_options, study_options
    from cnnlab.console import train_summary
    from cnnlab.store.rundir import RunDir
    from cnnlab.studies.loader import single_run_study
    from cnnlab.studies.options import sized_study
    from cnnlab.studies.runner import run_study

    train = given_settings(args, settings.TRAIN_COMMAND)
    seed, _ = train.pop("seed", 0), train.pop("epochs", None)  # the study's seeds and epochs, not [train]'s
    study = single_run_study(args.model, args.dataset, seed, train)
    # The dataset made the study (its name and title); the rest sizes it like any study.
    study = sized_study(study, replace(study_options(args), dataset=None, train=None))
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
