"""The parsed command line as the settings every entry point shares (cnnlab.studies.options):
what `cnnlab run` and `cnnlab train` pass on is what `cnnlab.run` and `cnnlab.train_model`
pass on for the same options."""

from cnnlab import settings
from cnnlab.studies.options import RunOptions, StudyOptions


def study_options(args) -> StudyOptions:
    """The study's size: the profile and what the command line gives explicitly (each
    command has some of these options)."""
    stand_in = getattr(args, "stand_in", None)
    return StudyOptions(profile=getattr(args, "profile", StudyOptions.profile), epochs=args.epochs,
                        seeds=getattr(args, "seeds", None), dataset=getattr(args, "dataset", None),
                        subset=args.subset, test_subset=args.test_subset,
                        inference_repeats=args.inference_repeats, analyses=args.analyses,
                        stand_in=dict(stand_in) if stand_in else None,
                        tune=True if getattr(args, "tune", False) else None,
                        train=given_settings(args, settings.RUN_COMMAND) or None)


def run_options(args) -> RunOptions:
    return RunOptions(device=args.device, data_dir=args.data_dir, download=not args.offline, executor=args.executor,
                      workers=args.workers, ray_address=args.ray_address, cpus_per_run=args.cpus_per_run,
                      report=not args.no_report, verbosity="lines" if args.quiet else "auto")


def given_settings(args, scope: str) -> dict:
    """The training settings of `scope` that the command line gave (the parser leaves the rest None)."""
    return {name: getattr(args, name) for name in settings.names_in(scope) if getattr(args, name, None) is not None}
