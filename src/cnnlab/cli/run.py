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

    if len(args.study) > 1 or args.study == [ALL]:
        return cmd_run_all(args, started)
    study = sized_study(load_study(args.study[0]), study_options(args))
    progress = RunProgress(quiet=args.quiet)
    try:
        info = run_study(study, args.out, run_options(args), **_callbacks(progress))
    finally:
        progress.close()
    for line in study_summary(info, study_dir(args.out, study.folder)):
        print(line)
    return 1 if any(r["status"] == "failed" for r in info["runs"]) else 0


def cmd_run_all(args, started: float):
    """`cnnlab run all` (the built-in studies) or `cnnlab run A B ...` (a suite of your own)."""
    from cnnlab.cli.options import run_options, study_options
    from cnnlab.console import RunProgress, suite_announcement, suite_summary
    from cnnlab.studies.run_all import builtin_suite, run_suite, study_suite, suite_settings

    size, options = study_options(args), run_options(args)
    builtin = args.study == ["all"]
    studies = builtin_suite(size) if builtin else study_suite(args.study, size)
    progress = RunProgress(quiet=args.quiet)
    try:
        suite = run_suite(studies, args.out, suite_settings(size, options), options,
                          on_checked=lambda: print(suite_announcement(args.profile, studies, args.out), flush=True),
                          title="" if builtin else f"Answers of {len(studies)} studies", **_callbacks(progress))
    finally:
        progress.close()
    for line in suite_summary(suite, len(studies), time.time() - started):
        print(line)
    return 1 if suite["invocations"][-1]["runs_failed"] else 0
