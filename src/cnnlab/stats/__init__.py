"""The statistics of cnnlab's verdicts, as a library of functions on plain numbers (numpy and
scipy only; nothing here knows about runs, studies or reports). The procedure that combines
them, and why, is described once in docs/statistics.md.

    constants.py   ALPHA, POWER, MAX_SEEDS: the numbers every verdict is held to
    summary.py     one model over seeds: mean, spread, t interval (bounded for accuracies)
    ttest.py       two models: Welch's and the paired t-test, TOST equivalence
    multiple.py    Holm's correction over a family, and each test's level
    power.py       power, the smallest detectable difference, seeds needed
    sequential.py  looks as seeds accumulate: alpha spending, group-sequential boundaries, sequential p
    family.py      a family of pairs decided together: better, equivalent, or what would decide
"""
