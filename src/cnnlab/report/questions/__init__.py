"""The kinds of question a study file asks (`[[questions]]`), one class per kind, one file each:
what a table of that kind takes (`parse`, called by the study loader, cnnlab.studies.questions),
what it tests and the claim its verdicts allow (`compare`, called by report.answers), and its
own evidence. `KINDS` maps each kind's name (cnnlab.choices.QUESTION_KINDS) to its class.

To add a kind: its name and the model references it needs in cnnlab.choices (the study.json
schema reads them), and a file here with a `QuestionKind` subclass, listed below.
"""

from cnnlab.report.questions.base import QuestionKind
from cnnlab.report.questions.best import Best
from cnnlab.report.questions.gap import Gap
from cnnlab.report.questions.ordering import Ordering
from cnnlab.report.questions.pair import Pair
from cnnlab.report.questions.pairs import Pairs

KINDS: dict[str, QuestionKind] = {kind.name: kind for kind in (Best(), Pair(), Ordering(), Pairs(), Gap())}
