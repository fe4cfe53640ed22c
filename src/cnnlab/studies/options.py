"""What a caller asks for, in one form for every way in: `cnnlab run`, `cnnlab run all`,
`cnnlab train`, `cnnlab.run` and `cnnlab.train_model` each turn their arguments into a
`StudyOptions` (how big the study runs) and a `RunOptions` (where and how it runs), then go
the same way:

    study = sized_study(load_study("mnist-fc-vs-cnn"), StudyOptions(profile="quick", epochs=1), PYTHON)
    run_study(study, "runs", RunOptions(device="cpu"), names=PYTHON)

so an option means the same everywhere, is checked once, and an error names it as the caller
wrote it (`names`: cnnlab.studies.option_names). The run policy that fills in what the caller
left open (workers, threads per run) is the runner's (cnnlab.studies.policy), whoever calls.
"""

from dataclasses import dataclass, fields

from cnnlab import settings
from cnnlab.choices import DEFAULT_PROFILE, PROFILES
from cnnlab.errors import UserError
from cnnlab.studies.loader import Study, check_stand_in
from cnnlab.studies.option_names import CLI, Names


@dataclass(frozen=True)
class StudyOptions:
    """How big a study runs: a profile ("full": the study file's settings; "quick": its
    [profiles.quick] table), then the settings given explicitly, which win over it. None
    keeps the study's (or the profile's) own."""

    profile: str = DEFAULT_PROFILE
    epochs: int | None = None
    seeds: int | list[int] | None = None  # a count (seeds 0..N-1) or the seeds themselves
    dataset: str | None = None  # replaces every study's dataset
    subset: int | None = None  # the first N training images
    test_subset: int | None = None  # the first N test images
    inference_repeats: int | None = None  # timed forward passes per batch size
    analyses: list[str] | None = None  # instead of the study's own
    stand_in: dict[str, str] | None = None  # {OLD: NEW}: replaces dataset OLD only
    tune: bool | None = None  # True: each model searches its settings first ([tune], cnnlab.studies.tune_spec)
    train: dict | None = None  # training settings over every model's (cnnlab.settings.RUN_COMMAND: precision, ...)

    def overrides(self) -> dict:
        """The explicit settings, as `Study.with_overrides` takes them."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name != "profile" and getattr(self, f.name) is not None}

    def run_flags(self) -> list[str] | None:
        """The `cnnlab run` flags that size a study like these options (None: a list of seeds,
        which no flag gives), so a report can print a command that reuses the same runs."""
        if isinstance(self.seeds, list):
            return None
        flags = [] if self.profile == DEFAULT_PROFILE else ["--profile", self.profile]
        for name, flag in (("epochs", "--epochs"), ("seeds", "--seeds"), ("dataset", "--dataset"),
                           ("subset", "--subset"), ("test_subset", "--test-subset"),
                           ("inference_repeats", "--inference-repeats")):
            if getattr(self, name) is not None:
                flags += [flag, str(getattr(self, name))]
        if self.analyses is not None:
            flags += ["--analyses", ",".join(self.analyses)]
        for old, new in (self.stand_in or {}).items():
            flags += ["--stand-in", f"{old}={new}"]
        flags += settings.flags_for(self.train or {})
        if self.tune:
            flags.append("--tune")
        return flags


@dataclass(frozen=True)
class RunOptions:
    """Where and how a study's runs execute, and what is shown and written besides results.
    None of it changes a result, except the CPU threads per run (`cpus_per_run`, part of a
    run's key on a CPU): left open, the runner's policy picks it (cnnlab.studies.policy)."""

    device: str = "auto"  # auto (GPU if present), cpu, cuda, cuda:N
    data_dir: str | None = None  # dataset root (default $CNNLAB_DATA or ~/.cache/cnnlab/data)
    download: bool = True  # False: never try to download datasets
    executor: str = "local"  # local or ray
    workers: int | None = None  # local: runs at once in worker processes
    ray_address: str | None = None  # Ray cluster to join (default: start a local one)
    cpus_per_run: int | None = None  # CPU threads of each run
    report: bool = True  # render the study's report after its runs
    verbosity: str = "auto"  # per-epoch progress of a run: auto (a bar where someone watches), lines, none


def sized_studies(studies: list[Study], options: StudyOptions, names: Names = CLI) -> list[Study]:
    """Each study at the size asked for: its profile, then the explicit settings, checked
    (an unknown profile, a bad number, a stand-in no study uses) before anything runs."""
    if options.profile not in PROFILES:
        raise UserError(names.explain("profile", f"unknown profile {options.profile!r}; valid: {', '.join(PROFILES)}"))
    if options.stand_in is not None and not (isinstance(options.stand_in, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in options.stand_in.items())):
        raise UserError(names.explain("stand_in", f"expected {{OLD: NEW}} (dataset names), got {options.stand_in!r}"))
    if options.dataset is not None and options.stand_in:
        raise UserError(f"{names('dataset')} replaces every study's dataset and "
                        f"{names.given('stand_in', {'OLD': 'NEW'}) if names.python else '--stand-in OLD=NEW'} "
                        "only OLD: give one of them")
    profiled = [study.with_profile(options.profile) for study in studies]
    check_stand_in(options.stand_in, profiled, names)
    return [study.with_overrides(**options.overrides(), names=names) for study in profiled]


def sized_study(study: Study, options: StudyOptions, names: Names = CLI) -> Study:
    """One study at the size asked for (see `sized_studies`)."""
    return sized_studies([study], options, names)[0]


def at_sizes(study: Study, sizes, names: Names = CLI) -> list[Study]:
    """`--sizes N,N,...` (`sizes=[...]`): the study at each training subset, smallest first, each
    into its own folder OUT/studies/NAME@N, so every report sets the verdicts side by side."""
    import dataclasses

    if (isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__")
            or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in sizes) or len(set(sizes)) < 2):
        raise UserError(names.explain("sizes", f"must be two or more positive training subsets, got {sizes!r}"))
    return [dataclasses.replace(study.with_overrides(subset=n, names=names), variant=str(n)) for n in sorted(set(sizes))]
