"""Every fixed list of names a user can choose from, defined once (torch-free, so the
command line can offer them without importing torch)."""

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("constant", "cosine", "onecycle")
PRECISIONS = ("fp32", "bf16", "auto")  # "auto": bf16 where the hardware has fast bf16 math
RESOLVED_PRECISIONS = ("fp32", "bf16")  # what "auto" becomes on a given machine
EXECUTORS = ("local", "ray")
# "full": a study file's own settings; "quick": its [profiles.quick] table (a CPU-sized run);
# "reference": its [profiles.reference] table, the size the quick verdicts are checked against
# (studies/reference/<name>.csv, benchmarks/transfer.py).
PROFILES = ("quick", "reference", "full")
DEFAULT_PROFILE = "full"
NO_PROFILE = ""  # a one-run study (`cnnlab train`): sized by its own options; shown as "-"
# The kinds of a study's [[questions]] and the model references each needs (cnnlab.studies.questions).
QUESTION_KINDS = ("best", "pair", "ordering", "pairs", "gap")
QUESTION_NEEDS = {"best": ("models",), "ordering": ("models",), "pair": ("a", "b"), "gap": ("a", "b"),
                  "pairs": ("pairs",)}

# The equivalence margin, in accuracy points ("within a point of each other"): study files and
# questions give it in points; the statistics work in fractions (report.findings divides by 100).
DEFAULT_MARGIN_POINTS = 1.0

# The t-test a study's verdicts use (report.findings): Welch's, or the paired one over the seeds
# that the design pairs (seed s: the same data order, augmentation draws and test images).
# Welch's by default: measured on the built-in studies, the pairing was too weak to make up for
# the paired test's fewer degrees of freedom at the levels the verdicts are tested at.
TESTS = ("welch", "paired")
DEFAULT_TEST = "welch"
