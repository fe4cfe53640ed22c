"""`cnnlab run STUDY` and `cnnlab run all`."""

import time


def _callbacks(progress) -> dict:
    """Each study opens with its size, then a line per finished run (and a bar where someone watches)."""
    from cnnlab.console import study_header

    def on_start(specs, data):
        print(study_header(specs, data), flush=True)
        progress.start(specs)

    return {"on_start": on_start, "on_run": progress.run_done}


def cmd_run(args):
    started = time.time()  # `cnnlab run all` reports its wall-clock from here, imports included
    from cnnlab.cli.options import run_options, study_options
    from cnnlab.console import RunProgress, study_summary
    from cnnlab.studies.loader import load_study
    from cnnlab.studies.options import sized_study
    from cnnlab.studies.run_all import ALL
    from cnnlab.studies.runner import run_study, study_dir

    from cnnlab.studies.until_decided import planned

    until = until_decided(args)
    if len(args.study) > 1 or args.study == [ALL]:
        return cmd_run_all(args, started, until)
    study = planned(sized_study(load_study(args.study[0]), study_options(args)), until)
    progress = RunProgress(quiet=args.quiet)
    options = run_options(args)
    if args.sizes:
        return _run_sizes(study, args, options, progress)
    try:
        info = run_study(study, args.out, options, **_callbacks(progress))
        if until is not None:
            info = _keep_deciding(study, args.out, options, until, started, info, progress)
    finally:
        progress.close()
    for line in study_summary(info, study_dir(args.out, study.folder)):
        print(line)
    return 1 if any(r["status"] == "failed" for r in info["runs"]) else 0


def _run_sizes(study, args, options, progress) -> int:
    """`--sizes N,N,...`: the study at each training subset, into OUT/studies/NAME@N; every report
    then sets each comparison's verdict at each size side by side (cnnlab.report.sizes)."""
    import dataclasses

    from cnnlab.console import study_summary
    from cnnlab.errors import UserError
    from cnnlab.report import render_report
    from cnnlab.studies.runner import run_study, study_dir

    from cnnlab.studies.options import at_sizes

    if args.until_decided or args.subset is not None:
        raise UserError("--sizes sets the training subset of each run: it does not combine with "
                        f"{'--until-decided' if args.until_decided else '--subset'}")
    grown = at_sizes(study, args.sizes)
    infos, quiet = [], dataclasses.replace(options, report=False)
    try:
        for sized in grown:
            infos.append(run_study(sized, args.out, quiet, **_callbacks(progress)))
    finally:
        progress.close()
    failed = 0
    for sized, info in zip(grown, infos):
        directory = study_dir(args.out, sized.folder)
        if options.report:
            render_report(directory)
        for line in study_summary(info, directory):
            print(line)
        failed += any(r["status"] == "failed" for r in info["runs"])
    return 1 if failed else 0


def until_decided(args):
    """--until-decided, --max-seeds and --budget, checked before anything runs."""
    from cnnlab.studies.until_decided import until_decided_options

    return until_decided_options(args.until_decided, args.max_seeds, args.budget, tune=args.tune)


def _keep_deciding(study, out, options, until, started, info, progress) -> dict:
    """One study's further looks (cnnlab.studies.until_decided); study.json's final content."""
    from cnnlab.report import render_report
    from cnnlab.store.schema import STUDY_FILE, read_study
    from cnnlab.studies.runner import run_study, study_dir
    from cnnlab.studies.until_decided import Look, keep_deciding

    directory = study_dir(out, study.folder)
    look = Look(study, directory, info, time.time() - started)
    keep_deciding([look], lambda grown: run_study(grown, out, options, **_callbacks(progress)), until, started,
                  on_message=progress.message, render=render_report if options.report else None)
    final = read_study(directory / STUDY_FILE).to_json()
    return {**final, "report": info.get("report", [])} if options.report else final


def cmd_run_all(args, started: float, until=None):
    """`cnnlab run all` (the built-in studies) or `cnnlab run A B ...` (a suite of your own)."""
    from cnnlab.cli.options import run_options, study_options
    from cnnlab.console import RunProgress, suite_announcement, suite_summary
    from cnnlab.studies.run_all import builtin_suite, run_suite, study_suite, suite_settings
    from cnnlab.studies.until_decided import planned

    size, options = study_options(args), run_options(args)
    builtin = args.study == ["all"]
    studies = [planned(s, until) for s in (builtin_suite(size) if builtin else study_suite(args.study, size))]
    progress = RunProgress(quiet=args.quiet)
    try:
        suite = run_suite(studies, args.out, suite_settings(size, options), options,
                          on_checked=lambda: print(suite_announcement(args.profile, studies, args.out), flush=True),
                          title="" if builtin else f"Answers of {len(studies)} studies", until=until,
                          on_message=progress.message, **_callbacks(progress))
    finally:
        progress.close()
    for line in suite_summary(suite, len(studies), time.time() - started):
        print(line)
    return 1 if suite["invocations"][-1]["runs_failed"] else 0
