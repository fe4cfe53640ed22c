"""The surfaces added last: plug-in modules that fail to load, `cnnlab compare`, damaged
fields of study.json and suite.json, a closed output pipe, and the index created by two
processes at once. Each mistake is one readable line: exit 2 where the command cannot go
on, exit 0 with one warning where it can, and nothing written for a rejected input.
(Bad input that fits the one-line-and-exit-2 table lives in test_bad_input.py.)"""

import fcntl
import shutil
import subprocess
import sys
import threading

import pytest

from cnnlab import plugins
from cnnlab.store.index import RunIndex
from cnnlab.store.schema import INDEX_FILE, STUDIES_DIR, STUDY_FILE, SUITE_FILE, SuiteRecord, SuiteStudy
from cnnlab.io import atomic_write_json

from .conftest import KILL_STUDY, RUN_OPTIONS, one_message, snapshot

# ---- plug-in modules that fail to load ------------------------------------------------

BROKEN = {
    "raises": ("raise RuntimeError('plug-in exploded')\n", "RuntimeError: plug-in exploded"),
    "syntax error": ("def broken(:\n    pass\n", "SyntaxError"),
    "registers a name twice": ("from cnnlab.plugins import get_analysis, register_analysis\n"
                               "register_analysis(get_analysis('confusion'))\n",
                               "ValueError: analysis 'confusion' is registered twice"),
    "registers a non-analysis": ("from cnnlab.plugins import register_analysis\nregister_analysis('weights')\n",
                                 "TypeError: register_analysis expects an Analysis"),
}


@pytest.fixture
def plugin_env(tmp_path, monkeypatch):
    """`use(source, module=...)`: a module with `source` named in $CNNLAB_PLUGINS, and the plug-in
    registry as a new process has it (loaded again on first use, put back afterwards)."""
    folder = tmp_path / "plugin-modules"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    plugins.load_plugins()  # the built-ins, registered once per process
    monkeypatch.setattr(plugins, "_ANALYSES", dict(plugins._ANALYSES))
    monkeypatch.setattr(plugins, "_FAILED", {})
    monkeypatch.setattr(plugins, "_loaded", False)
    monkeypatch.setenv(plugins._WARNED_ENV, "")

    def use(source: str | None, module: str = "broken_plugin"):
        if source is not None:
            (folder / f"{module}.py").write_text(source, encoding="utf-8")
        monkeypatch.delitem(sys.modules, module, raising=False)
        monkeypatch.setenv(plugins.PLUGINS_ENV, module)
    return use


def _warning(stderr: str, module: str, why: str):
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"warning: plug-in module {module!r} was not loaded (") and why in lines[0], lines[0]
    assert "Traceback" not in stderr


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_plugin_is_named_once_and_the_listing_goes_on(case, plugin_env, cli):
    source, why = BROKEN[case]
    plugin_env(source)
    code, stdout, stderr = cli("analyses")
    assert code == 0
    assert stdout.startswith("activations") or "confusion" in stdout
    _warning(stderr, "broken_plugin", why)
    code, _, stderr = cli("analyses")  # said once per process (and its workers)
    assert code == 0 and stderr == ""


def test_a_relative_module_name_is_named(plugin_env, cli):
    plugin_env(None, module=".broken_plugin")
    code, stdout, stderr = cli("analyses", "--json")
    assert code == 0 and '"confusion"' in stdout
    _warning(stderr, ".broken_plugin", "absolute dotted name")


STUDY_USING = KILL_STUDY.replace('analyses = ["overfitting", "confusion", "activations", "grad_flow", "stability", '
                                 '"receptive_field"]', 'analyses = ["weights"]')


def test_a_study_that_needs_the_broken_plugin_fails_naming_it(plugin_env, cli, tmp_path, monkeypatch):
    assert 'analyses = ["weights"]' in STUDY_USING
    plugin_env(BROKEN["raises"][0])
    (tmp_path / "s.toml").write_text(STUDY_USING, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    code, stdout, stderr = cli("run", "s.toml", "--out", "out", *RUN_OPTIONS)
    assert code == 2 and stdout == ""
    warning, error = stderr.splitlines()
    assert warning.startswith("warning: plug-in module 'broken_plugin' was not loaded")
    assert error.startswith("error: ") and "unknown analysis 'weights'" in error
    assert "plug-in module 'broken_plugin' was not loaded: RuntimeError: plug-in exploded" in error
    assert snapshot(tmp_path) == before


@pytest.mark.slow
def test_a_study_that_does_not_need_it_runs_with_one_warning(plugin_env, cli, tmp_path):
    plugin_env(BROKEN["raises"][0])
    (tmp_path / "s.toml").write_text(KILL_STUDY.replace("epochs = 2", "epochs = 1"), encoding="utf-8")
    code, _, stderr = cli("run", tmp_path / "s.toml", "--out", tmp_path / "out", *RUN_OPTIONS)
    assert code == 0, stderr
    warnings = [line for line in stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1 and "broken_plugin" in warnings[0]
    assert "Traceback" not in stderr


TOY = """\
from cnnlab.plugins import Analysis, register_analysis
register_analysis(Analysis(name="weights", description="how many parameter tensors",
                           measure=lambda run: {"tensors": len(list(run.model.parameters()))},
                           check=lambda value: isinstance(value, dict)))
"""


@pytest.mark.slow
def test_a_report_whose_plugin_is_gone_says_so_and_keeps_the_runs(plugin_env, cli, tmp_path):
    plugin_env(TOY, module="toy_weights")
    (tmp_path / "s.toml").write_text(STUDY_USING.replace("epochs = 2", "epochs = 1"), encoding="utf-8")
    out = tmp_path / "out"
    code, _, stderr = cli("run", tmp_path / "s.toml", "--out", out, *RUN_OPTIONS)
    assert code == 0, stderr
    plugin_env(None, module="")  # the plug-in is no longer loaded
    plugins.unregister_analysis("weights")
    code, stdout, stderr = cli("report", out / STUDIES_DIR / "kill")
    assert code == 0, stderr
    message = one_message(stderr)
    assert message.startswith("warning: kill measured the analysis 'weights', which no loaded plug-in registers")
    report = (out / STUDIES_DIR / "kill" / "report.md").read_text(encoding="utf-8")
    assert "damaged records" not in report  # the runs still count: only the analysis is left out
    assert "1 of 1" in report or "seed 0" not in report


# ---- damaged study.json and suite.json: refused before anything is written -------------------


DAMAGED_ENTRIES = {
    "a question that is a number": ("questions", [7], "'questions[0]' must be an object"),
    "a question of a number kind": ("questions", [{"kind": 7}], "'questions[0].kind' must be a string"),
    "a question of an unknown kind": ("questions", [{"kind": "biggest"}], "'questions[0].kind' is 'biggest'"),
    "a question without its models": ("questions", [{"kind": "best"}], "'questions[0].models' must be a list"),
    "a pair of numbers": ("questions", [{"kind": "pair", "a": 1, "b": 2}], "'questions[0].a' must be a string"),
    "a claim without a value": ("claims", [{"model": "x", "metric": "test_acc"}], "'claims[0].value' must be a number"),
}


@pytest.mark.parametrize("case", list(DAMAGED_ENTRIES))
def test_a_damaged_question_or_claim_is_one_line(case, finished, cli, damage_file):
    field, entries, expect = DAMAGED_ENTRIES[case]
    _, out, _ = finished
    study_dir = out / STUDIES_DIR / "kill"
    damage_file(study_dir / STUDY_FILE, lambda d: {**d, field: entries})
    before = snapshot(out)
    code, stdout, stderr = cli("report", study_dir)
    assert code == 2 and stdout == "" and "Traceback" not in stderr
    assert one_message(stderr).startswith("error: ") and expect in stderr
    assert snapshot(out) == before


@pytest.mark.parametrize("field", ["questions", "claims"])
def test_study_json_field_of_the_wrong_type_is_one_line(field, finished, cli, damage_file):
    _, out, _ = finished
    study_dir = out / STUDIES_DIR / "kill"
    damage_file(study_dir / STUDY_FILE, lambda d: {**d, field: 7})
    before = snapshot(out)
    code, stdout, stderr = cli("report", study_dir)
    assert code == 2 and stdout == ""
    assert one_message(stderr).startswith("error: ") and f"'{field}'" in stderr and "a list" in stderr
    assert snapshot(out) == before


@pytest.mark.parametrize("damage", ["newer format", "studies not a list"])
def test_a_refused_suite_json_leaves_every_report_as_it_was(damage, finished, cli, damage_file):
    _, out, _ = finished
    atomic_write_json(out / SUITE_FILE, SuiteRecord(profile="full", settings={}, studies=[
        SuiteStudy(name="kill", reference="", title="kill")]).to_json())
    change = {"newer format": lambda d: {**d, "schema": 99}, "studies not a list": lambda d: {**d, "studies": 3}}
    damage_file(out / SUITE_FILE, change[damage])
    before = snapshot(out)
    code, stdout, stderr = cli("report", out)
    assert code == 2 and stdout == ""
    assert one_message(stderr).startswith("error: ") and SUITE_FILE in stderr
    assert snapshot(out) == before


# ---- compare -----------------------------------------------------------------------------------


def test_compare_out_into_a_new_folder_writes_the_page(finished, cli, tmp_path):
    _, out, _ = finished
    other = tmp_path / "other"
    shutil.copytree(out, other)
    code, stdout, stderr = cli("compare", out, other, "--out", tmp_path / "new" / "compare")
    assert code == 0, stderr
    assert (tmp_path / "new" / "compare" / "report.html").is_file()
    assert "page:" in stdout


# ---- a closed output pipe ---------------------------------------------------------------------


@pytest.mark.process
def test_a_listing_piped_into_head_ends_quietly():
    """`cnnlab models --json | head -c 300`: the reader leaves before the listing is written (here
    before the command has started); no traceback, exit as Unix tools do."""
    proc = subprocess.Popen([sys.executable, "-m", "cnnlab", "models", "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141, stderr
    assert stderr == ""


# ---- the index, created by two processes at once ------------------------------------------------


def test_the_index_is_opened_under_a_claim(tmp_path):
    """While another process holds the index's claim, opening waits for it, then finds the
    table that process made."""
    lock = open(tmp_path / (INDEX_FILE + ".lock"), "a")
    fcntl.flock(lock, fcntl.LOCK_EX)
    opened = threading.Event()
    said = []

    def open_index():
        with RunIndex(tmp_path, on_message=said.append):
            opened.set()

    thread = threading.Thread(target=open_index)
    thread.start()
    try:
        assert not opened.wait(0.5), "the index was opened while another process held its claim"
        with RunIndex.__new__(RunIndex) as other:  # what the holder does: create the table
            other.out_dir, other.path, other.on_message, other.conn = tmp_path, tmp_path / INDEX_FILE, said.append, None
            other._open()
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()
    thread.join(timeout=60)
    assert opened.is_set() and said == []
    assert not (tmp_path / (INDEX_FILE + ".unusable")).exists()
