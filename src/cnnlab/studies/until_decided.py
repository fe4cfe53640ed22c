"""`--until-decided`: add seeds only where a comparison is still open, look again, stop when decided.

A study runs once at its own seeds (the first look). Then, as long as some comparison of its
questions is inconclusive and about `max_seeds` seeds per model or fewer would decide it at the
observed spread, the models of those comparisons (and only those) get more seeds, and the
report looks again. Each step doubles their seeds, capped by `max_seeds` and by what the time
left in the budget buys at the measured cost per run: a schedule fixed before the results are
seen, so the group-sequential boundaries (cnnlab.stats.sequential) hold the error rates over
the looks. Decided comparisons stay decided (their sequential p-values only fall).

It stops when every comparison is decided, when the open ones would need more than `max_seeds`,
when their models have `max_seeds` already, or when the next look does not fit in the budget;
study.json records why (`until_decided`) and the report lists each pair's looks.

Every look is an ordinary `run_study` of the study with some models on more seeds
(`ModelSpec.seed_count`), so runs are cached as always: stopping and starting again replays the
same looks from the cache and continues where it stopped.
"""

import dataclasses
import math
import time
from dataclasses import dataclass
from pathlib import Path

from cnnlab.errors import UserError, say
from cnnlab.io import atomic_write_json
from cnnlab.settings import MAX_SEED
from cnnlab.stats.constants import MAX_SEEDS
from cnnlab.store.schema import STUDY_FILE, read_study
from cnnlab.studies.loader import Study
from cnnlab.studies.option_names import CLI, Names
from cnnlab.units import duration_text, parse_duration

DEFAULT_MAX_SEEDS = 20  # per model: a course study's open comparisons rarely need more at the quick size
COST_RATIO_GUESS = 1.0  # wall-clock per second of training, before a look has measured it (analyses vs workers)
ROUGH_BELOW = 5  # seeds per model under which the seeds an open comparison needs are too rough to stop on

STOPPED = {
    "nothing": "its questions make no comparison that could be decided (the study asks no questions, or fewer "
               "than two of a question's models have finished runs)",
    "decided": "every comparison is decided",
    "beyond": "the open comparisons would need more than {max_seeds} seeds per model",
    "max_seeds": "the models of the open comparisons have {max_seeds} seeds (--max-seeds)",
    "no_spread": "the open comparisons' values did not vary from seed to seed, so no number of seeds can be "
                 "planned from them",
    "budget": "what is left of the budget would not buy the next look, or the seeds an open comparison needs",
    "plan": "this study was first run without --until-decided, planned for the {plan} seeds per model of that "
            "look, which spent its 5% level: more seeds cannot change its verdicts (run it with --until-decided "
            "into a new --out to plan for more)",
}


@dataclass(frozen=True)
class UntilDecided:
    """How far `--until-decided` may go: seeds per model (the plan), and wall-clock for the whole
    invocation."""
    max_seeds: int = DEFAULT_MAX_SEEDS
    budget_seconds: float | None = None


def planned(study: Study, until: UntilDecided | None, names: Names = CLI) -> Study:
    """The study planned for `until.max_seeds` seeds per model (unchanged without --until-decided),
    checked before its first look: every seed the looks can reach must be a valid seed, and a model
    compared with itself (a seed_offset) must stay on other seeds than its twin."""
    if until is None:
        return study
    grown = [(m, dataclasses.replace(m, seed_count=until.max_seeds).seeds(study.seeds)) for m in study.models]
    for model, seeds in grown:
        if max(seeds) > MAX_SEED:
            raise UserError(names.explain("max_seeds", f"{until.max_seeds} seeds per model would give {model.label} "
                                                       f"seed {max(seeds):,}, beyond the largest seed ({MAX_SEED:,}); "
                                                       "give fewer seeds or smaller ones"))
    for i, (a, seeds_a) in enumerate(grown):
        for b, seeds_b in grown[i + 1:]:
            same = (a.name, a.kwargs, a.train) == (b.name, b.kwargs, b.train)
            if same and set(seeds_a) & set(seeds_b):
                raise UserError(names.explain("max_seeds", f"{until.max_seeds} seeds per model would give "
                                                           f"{a.label} and {b.label} (the same model) the same seeds "
                                                           f"{min(set(seeds_a) & set(seeds_b))}: give one of them a "
                                                           "larger seed_offset, or fewer seeds"))
    return dataclasses.replace(study, plan_seeds=until.max_seeds)


def until_decided_options(until_decided: bool, max_seeds=None, budget=None, names: Names = CLI,
                          tune: bool = False) -> UntilDecided | None:
    """The options as given (`--until-decided`, `--max-seeds N`, `--budget 30m`), checked once."""
    if until_decided is False or until_decided is None:
        for option, value in (("max_seeds", max_seeds), ("budget", budget)):
            if value is not None:
                raise UserError(names.explain(option, f"only applies with {names.given('until_decided', True) if names.python else '--until-decided'}"))
        return None
    if until_decided is not True:
        raise UserError(names.explain("until_decided", f"must be True or False, got {until_decided!r}"))
    if tune:
        raise UserError(f"{names('until_decided')} does not combine with {names('tune')} yet: tune first, then add "
                        f"seeds with {names('seeds')}")
    if max_seeds is None:
        max_seeds = DEFAULT_MAX_SEEDS  # the plan: fixed before the first look, whatever the budget allows
    if max_seeds is not None and (isinstance(max_seeds, bool) or not isinstance(max_seeds, int)
                                  or not 2 <= max_seeds <= MAX_SEEDS):
        raise UserError(names.explain("max_seeds", f"must be a whole number of seeds per model in [2, {MAX_SEEDS:,}], "
                                                   f"got {max_seeds!r}"))
    seconds = None
    if budget is not None:
        if isinstance(budget, (int, float)) and not isinstance(budget, bool):
            seconds = float(budget)
        else:
            seconds = parse_duration(budget)
        if seconds is None or not math.isfinite(seconds) or seconds <= 0:
            raise UserError(names.explain("budget", f"must be a duration such as 90s, 30m, 2h or 1h30m"
                                                    f"{' (or seconds)' if names.python else ''}, got {budget!r}"))
    return UntilDecided(max_seeds=max_seeds, budget_seconds=seconds)


@dataclass
class Step:
    """The next look: `labels` go to `seeds` seeds each; about `seconds` of wall-clock."""
    study: Study
    labels: list[str]
    seeds: int
    seconds: float


def open_comparisons(directory: Path):
    """(decided, open, all): the comparisons of the study's questions, as its report answers them now."""
    from cnnlab.report.answers import answers
    from cnnlab.results import load_results

    comparisons = [c for answer in answers(load_results(directory)) for c in answer.comparisons]
    decided = [c for c in comparisons if c.verdict in ("better", "equivalent")]
    return decided, [c for c in comparisons if c not in decided], comparisons


def seeds_per_model(study: Study) -> dict[str, int]:
    return {m.label: len(m.seeds(study.seeds)) for m in study.models}


def seconds_per_run(directory: Path) -> dict[str, float]:
    """Each model's mean training time per run, from its finished runs (seconds)."""
    from cnnlab.results import load_results

    out = {}
    for model in load_results(directory).models:
        times = model.values("train_seconds")
        if times:
            out[model.label] = sum(times) / len(times)
    return out


def recorded_plan(directory: Path) -> int | None:
    """The seeds per model the study's verdicts are planned for, as its study.json records them."""
    try:
        info = read_study(directory / STUDY_FILE)
    except UserError:
        return None
    return info.plan_seeds or (info.looks[0] if info.looks else None)


def next_step(study: Study, directory: Path, until: UntilDecided, seconds_left: float | None,
              cost_ratio: float) -> tuple[Step | None, str]:
    """The next look, or None and why there is none (a key of STOPPED).

    A comparison is pursued when the seeds that would decide it (at its observed spread) are
    within the plan's seeds, or when the spread comes from fewer than ROUGH_BELOW seeds per model
    (too rough an estimate to give up on), and, with a budget, when bringing its two models there
    fits in the time left at the measured cost per run."""
    _, open_, every = open_comparisons(directory)
    if not every:
        return None, "nothing"
    if not open_:
        return None, "decided"
    counts = seeds_per_model(study)
    limit = min(until.max_seeds, recorded_plan(directory) or until.max_seeds)
    if max(counts[m.label] for c in open_ for m in (c.a, c.b)) >= limit and limit < until.max_seeds:
        return None, "plan"
    per_run = seconds_per_run(directory)
    fallback = max(per_run.values(), default=0.0)

    def cost(labels, seeds: int) -> float:
        return cost_ratio * sum(max(0, seeds - counts[label]) * per_run.get(label, fallback) for label in labels)

    def rough(c) -> bool:
        return min(c.diff.n_a, c.diff.n_b) < ROUGH_BELOW

    def goal(c) -> int:
        return c.needed.n if c.needed is not None and c.needed.n is not None and c.needed.n <= limit else limit

    pursued = [c for c in open_ if (c.needed is not None and c.needed.n is not None and c.needed.n <= limit)
               or (rough(c) and (c.needed is not None or c.diff.p is not None or min(c.diff.n_a, c.diff.n_b) < 2))]
    if not pursued:
        flat = all(c.diff.n_a >= 2 and c.diff.n_b >= 2 and c.diff.p is None for c in open_)
        return None, "no_spread" if flat else "beyond"
    if seconds_left is not None:
        pursued = [c for c in pursued if cost((c.a.label, c.b.label), min(goal(c), 2 * max(counts[c.a.label], 1)))
                   <= seconds_left]
        if not pursued:
            return None, "budget"
    labels = sorted({m.label for c in pursued for m in (c.a, c.b)})
    now = max(counts[label] for label in labels)
    target = min(limit, 2 * now)
    if target <= now:
        return None, "max_seeds"
    if seconds_left is not None:
        while target > now and cost(labels, target) > seconds_left:
            target -= 1
        if target <= now:
            return None, "budget"
    models = tuple(dataclasses.replace(m, seed_count=target if m.label in labels else counts[m.label])
                   for m in study.models)
    return Step(dataclasses.replace(study, models=models), labels, target, cost(labels, target)), ""


def cost_ratio(directory: Path, wall_seconds: float, trained_keys: set[str]) -> float | None:
    """Wall-clock per second of training measured over a look: its duration over the training
    time of the runs it trained (analyses, evaluation and parallel workers all included)."""
    from cnnlab.results import load_results

    trained = sum(r.analysis.get("train_seconds") or 0.0 for m in load_results(directory).models for r in m.done
                  if r.key in trained_keys and isinstance(r.analysis.get("train_seconds"), (int, float)))
    return wall_seconds / trained if trained > 0 and wall_seconds > 0 else None


def stop_text(reason: str, until: UntilDecided, directory: Path) -> str:
    return STOPPED[reason].format(max_seeds=until.max_seeds, plan=recorded_plan(directory))


def record_stop(directory: Path, until: UntilDecided, reason: str, spent: float):
    """Write why the study stopped adding seeds into its study.json."""
    path = directory / STUDY_FILE
    info = read_study(path)
    text = stop_text(reason, until, directory)
    record = dataclasses.replace(info, until_decided={"max_seeds": until.max_seeds,
                                                      "budget_seconds": until.budget_seconds,
                                                      "stopped": reason, "why": text, "spent_seconds": spent})
    atomic_write_json(path, record.to_json())


@dataclass
class Look:
    """A study's first look, as the caller ran it: what `run_study` returned and how long it took."""
    study: Study
    directory: Path
    info: dict
    wall_seconds: float


def keep_deciding(first: list[Look], run_look, until: UntilDecided, started: float, on_message=say,
                  render=None) -> dict[str, str]:
    """After the first look at every study: look again, study by study in turn, while a study
    has a next step and the budget (counted from `started`) lasts. `run_look(study)` runs one
    look (a `run_study`) and returns study.json's content; `render(directory)` re-renders a
    report once the reason for stopping is written. Returns each study's reason (STOPPED's keys)."""
    ratio, current, stopped = {}, {}, {}
    for look in first:
        trained = set() if look.info["manifest"].get("runs_cached") else {r["run_key"] for r in look.info["runs"]}
        ratio[look.directory] = cost_ratio(look.directory, look.wall_seconds, trained) or COST_RATIO_GUESS
        current[look.directory] = look.study
    while len(stopped) < len(first):
        for directory, study in list(current.items()):
            if directory in stopped:
                continue
            left = None if until.budget_seconds is None else until.budget_seconds - (time.time() - started)
            step, reason = next_step(study, directory, until, left, ratio[directory])
            if step is None:
                stopped[directory] = reason
                continue
            on_message(f"{study.name}: comparisons still open; {', '.join(step.labels)} to {step.seeds} seeds each "
                       f"(about {duration_text(step.seconds)})")
            before = time.time()
            info = run_look(step.study)
            trained = {r["run_key"] for r in info["runs"]} - _cached_keys(study, info)
            if info["manifest"].get("runs_trained") == len(trained):  # not a replay from the cache
                ratio[directory] = cost_ratio(directory, time.time() - before, trained) or ratio[directory]
            current[directory] = step.study
    for directory, reason in stopped.items():
        record_stop(directory, until, reason, time.time() - started)
        on_message(f"{current[directory].name}: stopped adding seeds: {stop_text(reason, until, directory)}")
        if render:
            render(directory)
    return {current[d].name: stopped[d] for d in current}


def _cached_keys(study: Study, info: dict) -> set[str]:
    """The run keys of `info` whose model and seed `study` had already (reused at the next look)."""
    have = {(m.label, seed) for m in study.models for seed in m.seeds(study.seeds)}
    return {r["run_key"] for r in info["runs"] if (r.get("label"), r.get("seed")) in have}
