"""Where results live: the run-record schema (`records`), one directory per run (`rundir`)
and a SQLite index across runs (`index`)."""

from cnnlab.store.index import RunIndex, open_index
from cnnlab.store.records import FINAL_STATUSES, RecordError, RunConfig, RunRecord
from cnnlab.store.rundir import RunDir

__all__ = ["FINAL_STATUSES", "RecordError", "RunConfig", "RunDir", "RunIndex", "RunRecord", "open_index"]
