"""The numbers every verdict is held to, declared once (docs/statistics.md explains each)."""

ALPHA = 0.05  # 95% intervals; the level a study's family of comparisons is held to over all its looks
POWER = 0.8  # the conventional target: 4 chances in 5 of deciding when the assumed truth holds
MAX_SEEDS = 1000  # seeds per model any plan or study may ask for: far above real use, a typo's bound
