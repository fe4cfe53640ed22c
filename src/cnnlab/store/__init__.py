"""Where results live: one directory per run (`rundir`) and a SQLite index across runs (`index`)."""

from cnnlab.store.index import RunIndex, open_index
from cnnlab.store.rundir import FINAL_STATUSES, RunDir

__all__ = ["RunIndex", "open_index", "RunDir", "FINAL_STATUSES"]
