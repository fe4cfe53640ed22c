"""Where results live: the schema of every file cnnlab writes (`schema`), one directory per
run (`rundir`) and a SQLite index across runs (`index`)."""

from cnnlab.store.index import RunIndex, open_index
from cnnlab.store.schema import FINAL_STATUSES, RecordError, RunConfig, RunRecord
from cnnlab.store.rundir import RunDir

__all__ = ["FINAL_STATUSES", "RecordError", "RunConfig", "RunDir", "RunIndex", "RunRecord", "open_index"]
