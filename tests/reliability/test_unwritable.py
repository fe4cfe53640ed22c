"""Places cnnlab cannot write: `cnnlab report` into a study folder that refuses writes, and a
run directory where something that is not a file sits where a record goes. One line says
why, nothing is half-written, and no traceback."""

import os
import shutil
import subprocess
from contextlib import contextmanager

from .conftest import RUN_OPTIONS, one_message, snapshot


def files(root) -> dict:
    """Every path under `root`, files with size and modification time (a folder's own time
    changes when the write check's file comes and goes)."""
    return {path: None if is_dir else (size, mtime) for path, (is_dir, size, mtime) in snapshot(root).items()}


@contextmanager
def unwritable(directory):
    """Make `directory` refuse new files, as the machine allows: `chattr +i` (immutable:
    refuses even root, who ignores permission bits), else chmod 555 (enough for others than
    root). Yields how, for the assertion messages; skips when neither works."""
    import pytest

    how = None
    if shutil.which("chattr") and subprocess.run(["chattr", "+i", str(directory)], capture_output=True).returncode == 0:
        how = "chattr +i"
    elif os.geteuid() != 0:
        directory.chmod(0o555)
        how = "chmod 555"
    if how is None:
        pytest.skip("running as root on a filesystem without chattr +i: no way to make a folder read-only")
    try:
        yield how
    finally:
        if how == "chattr +i":
            subprocess.run(["chattr", "-i", str(directory)], check=True)
        else:
            directory.chmod(0o755)


def test_report_into_a_folder_that_refuses_writes(finished, cli):
    study, out, _ = finished
    study_dir = out / "studies" / "kill"
    for name in ("report.md", "report.html", "results.csv"):
        (study_dir / name).unlink(missing_ok=True)
    shutil.rmtree(study_dir / "plots", ignore_errors=True)
    before = files(out)
    with unwritable(study_dir) as how:
        code, stdout, stderr = cli("report", study_dir)
    assert code == 2, f"{how}: {stderr}"
    assert one_message(stderr).startswith(f"error: cannot write the report in {study_dir}: "), how
    assert "Traceback" not in stderr and stdout == ""
    assert files(out) == before  # nothing written, no temporary file left


def test_report_where_plots_is_a_file(finished, cli):
    """Writing plots/ fails on every machine when a file has its name."""
    _, out, _ = finished
    study_dir = out / "studies" / "kill"
    shutil.rmtree(study_dir / "plots", ignore_errors=True)
    (study_dir / "plots").write_text("not a folder")
    before = files(out)
    code, stdout, stderr = cli("report", study_dir)
    assert code == 2 and "Traceback" not in stderr
    plots = study_dir / "plots"
    assert one_message(stderr) == f"error: cannot write the report in {study_dir}: Not a directory ({plots})"
    assert files(out) == before


def test_a_record_that_is_a_directory_fails_the_run_with_the_reason(finished, cli):
    """A folder named metrics.jsonl: no rerun could write it and cnnlab deletes nothing it
    did not write, so the run is failed at once, saying why, without training."""
    study, out, run = finished
    (run / "metrics.jsonl").unlink()
    (run / "metrics.jsonl").mkdir()
    checkpoint = (run / "checkpoint.pt").stat().st_mtime_ns
    code, stdout, stderr = cli("run", study, "--out", out, *RUN_OPTIONS)
    reason = "metrics.jsonl is a directory, not a file; move it away to run it again"
    assert one_message(stderr) == f"simple-cnn seed 0 ({run.name}): {reason}"
    assert code == 1 and f"failed: {reason}" in stdout
    assert (run / "status").read_text() == "failed\n" and (run / "error.txt").read_text() == reason + "\n"
    assert (run / "checkpoint.pt").stat().st_mtime_ns == checkpoint and (run / "metrics.jsonl").is_dir()

    # Moved away, the next run resumes from the intact checkpoint: the run is whole again.
    (run / "metrics.jsonl").rmdir()
    code, stdout, stderr = cli("run", study, "--out", out, *RUN_OPTIONS)
    assert code == 0 and (run / "status").read_text() == "done\n"
