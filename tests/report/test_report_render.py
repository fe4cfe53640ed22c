import base64
import re
from dataclasses import replace
from html.parser import HTMLParser

import pytest

from cnnlab.errors import UserError
from cnnlab.io import atomic_write_json
from cnnlab.report import render_report, section_titles
from cnnlab.report.build import NOT_MEASURED
from cnnlab.report.claims import claims_rows
from cnnlab.results import load_results
from cnnlab.store.rundir import RunDir
from cnnlab.store.schema import RUNS_DIR, STUDY_FILE, read_study

DPI = 30  # tests check structure, not looks
PNG = b"\x89PNG\r\n\x1a\n"
ANALYSIS_SECTIONS = ("Confusion matrices", "ROC curves", "Gradient flow", "Training stability", "Receptive fields",
                     "Effective receptive fields", "Activations", "Time per block")


class Page(HTMLParser):
    """Collects what the tests look at: tags, h2 texts, the <title>, img sources."""

    def __init__(self, text):
        super().__init__()
        self.tags, self.h2, self.title, self.images, self._in = [], [], "", [], None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "img":
            self.images.append(dict(attrs))
        self._in = tag

    def handle_endtag(self, tag):
        self._in = None

    def handle_data(self, data):
        if self._in == "h2":
            self.h2.append(data)
        elif self._in == "title":
            self.title += data


def sections_md(md: str) -> dict[str, str]:
    """Markdown text under each "## " heading."""
    parts = re.split(r"^## (.+)$", md, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def render(study_dir):
    md_path, html_path = render_report(study_dir, dpi=DPI)
    return md_path.read_text(encoding="utf-8"), html_path.read_text(encoding="utf-8")


def test_report_has_every_section_with_inlined_plots(full_study):
    study_dir, md, html = full_study

    body = sections_md(md)
    assert list(body) == section_titles()
    for name in section_titles():
        assert NOT_MEASURED not in body[name], name  # every analysis was measured here

    page = Page(html)
    assert page.h2 == section_titles()
    assert page.title == "Fake study"
    # Every plot is written to plots/, linked from the markdown and inlined in the HTML.
    plots = sorted((study_dir / "plots").glob("*.png"))
    assert {"learning_curves.png", "accuracy_vs_cost.png", "confusion_matrices.png", "grad_flow_layers.png",
            "grad_flow_heatmap.png", "receptive_field_growth.png", "train_test_gap.png"} <= {p.name for p in plots}
    assert any(p.name.startswith("feature_maps_") for p in plots)
    for p in plots:
        assert p.read_bytes().startswith(PNG)
        assert f"](plots/{p.name})" in md
    inlined = [img["src"] for img in page.images]
    assert len(inlined) == len(plots)
    assert all(src.startswith("data:image/png;base64,") for src in inlined)
    assert all(base64.b64decode(src.split(",", 1)[1]).startswith(PNG) for src in inlined)
    assert "src=\"plots/" not in html and "http" not in html.split("<main>")[0]  # self-contained


def test_summary_table_is_sorted_by_test_accuracy_and_formatted(full_study):
    _, md, _ = full_study
    summary = sections_md(md)["Summary"]
    assert summary.index("| Simple CNN |") < summary.index("| FC |")
    row = next(line for line in summary.splitlines() if line.startswith("| FC |"))
    assert re.search(r"\| (79|80)\.\d\d ± 0\.\d\d % \|", row)  # test accuracy, mean ± std over seeds
    assert "10.00K" in row and "2/2" in row  # parameters, finished seeds
    assert "ms" in row and "img/s" in row and "MiB" in row  # latency, throughput, memory


@pytest.mark.slow
def test_hostile_strings_are_escaped(make_study):
    title = "<script>alert(1)</script>"
    label = '<img src=x onerror="alert(2)">'
    # "$" would start matplotlib math mode: the plots must show it, not fail.
    study_dir = make_study(title=title, models=(("fc", label), ("simple-cnn", "A & B | [x](y) $\\frac$")),
                           analyses=["confusion", "grad_flow"])
    md, html = render(study_dir)

    assert title not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html
    page = Page(html)
    assert "script" not in page.tags
    assert page.title == title  # the parser unescapes entities: the text survives intact
    assert all(img["src"].startswith("data:image/png;base64,") for img in page.images)

    assert "<script>" not in md and "<img src=x" not in md
    assert md.startswith("# &lt;script>alert(1)&lt;/script>")
    assert "A & B \\| \\[x\\](y) $\\\\frac$" in md  # no table cell split, no link


@pytest.mark.slow
def test_one_seed_gives_no_p_value_and_no_claim(make_study):
    md, html = render(make_study(seeds=(0,), analyses=[]))
    body = sections_md(md)
    assert "one seed only: no significance test; differences are not claims" in body["Findings"]
    claim = next(line for line in body["Answers"].splitlines() if line.startswith("Answer: "))
    assert "is higher than" not in md and "is better than" not in md and "within ±" not in claim
    pair = next(line for line in body["Comparisons"].splitlines() if line.startswith("| Simple CNN | FC |"))
    cells = [c.strip() for c in pair.strip("|").split("|")]
    assert cells[4] == "—" and cells[5] == "—" and cells[7] == "untested"  # Welch p, Holm p, verdict


def test_significance_decides_the_sentence(full_study, make_study):
    clear = sections_md(full_study[1])["Findings"]
    assert "Simple CNN's test accuracy is higher than FC's by" in clear

    same = sections_md(render(make_study(accuracies=(0.90, 0.90), noise=0.01, analyses=[]))[0])["Findings"]
    assert "No significant difference in test accuracy between" in same
    assert "higher than" not in same


@pytest.mark.slow
def test_unmeasured_sections_say_so_in_one_line(make_study):
    """Each unmeasured analysis is named, in one "Not measured" section before the Manifest, not
    as a heading each (before: five sections that only said "not measured in this study"); and
    the summary has no column without a value (before: three all-dash columns)."""
    md, html = render(make_study(analyses=[]))
    body = sections_md(md)
    titles = [t for t in section_titles() if t not in ANALYSIS_SECTIONS]
    titles.insert(titles.index("Manifest"), "Not measured")
    assert list(body) == titles and Page(html).h2 == titles
    (line,) = [x for x in body["Not measured"].splitlines() if x.strip()]
    for name in ANALYSIS_SECTIONS:
        assert name in line
    assert line.rstrip().endswith("chooses which run).") and NOT_MEASURED in line
    assert f"peak training memory: {NOT_MEASURED}" in body["Summary"]
    header = next(x for x in body["Summary"].splitlines() if x.startswith("| Model"))
    assert "Latency" not in header and "Throughput" not in header and "Peak train memory" not in header
    assert "Params" in header and "Test acc" in header
    # Learning curves come from metrics.jsonl, which every run has.
    assert "plots/learning_curves.png" in body["Learning curves"]


@pytest.mark.slow
def test_failed_and_missing_runs_are_reported_not_fatal(make_study):
    study_dir = make_study(statuses={("fc", 1): "failed", ("simple-cnn", 0): None}, analyses=[])
    md, _ = render(study_dir)
    summary = sections_md(md)["Summary"]
    assert "FC, seed 1: failed: RuntimeError: out of memory" in summary
    assert "Simple CNN, seed 0: missing" in summary
    assert "| 1/2 |" in summary
    # One finished seed per model left: no test.
    assert "one seed only" in sections_md(md)["Findings"]


@pytest.mark.slow
def test_diverged_runs_are_shown_as_instability(make_study):
    md, _ = render(make_study(statuses={("fc", 1): "diverged"}, analyses=["stability"]))
    body = sections_md(md)
    assert "FC, seed 1: diverged" in body["Summary"]
    row = next(line for line in body["Training stability"].splitlines() if line.startswith("| FC |"))
    assert "1 of 2 (seed 1 at epoch 2)" in row


def test_a_study_without_finished_runs_still_renders(make_study):
    study_dir = make_study(statuses={(m, s): "failed" for m in ("fc", "simple-cnn") for s in (0, 1)}, analyses=[])
    md, html = render(study_dir)
    body = sections_md(md)
    assert Page(html).h2 == list(body)
    assert "| 0/2 |" in body["Summary"]
    assert "nothing to compare" in body["Comparisons"]
    assert "No finished runs" in body["Findings"]
    assert "Learning curves" not in body and "Learning curves" in body["Not measured"]


def test_claims_table_shows_reference_numbers_and_dataset_note(full_study, make_study):
    claims = sections_md(full_study[1])["Claims of other reports"]  # reference "1.1"
    assert "97.72 %" in claims and "98.96 %" in claims and "567,434" in claims
    assert "dataset differs: theirs mnist, ours mnist-small" in claims
    assert "residual CNN" not in claims  # the study file states claims only for its own models

    assert claims_rows(load_results(make_study(reference=""))) is None


def test_manifest_lists_versions_hardware_and_data(full_study):
    manifest = sections_md(full_study[1])["Manifest"]
    for text in ("| torch version | 2.14.1 |", "| device | Fake CPU 3000 |", "| CPU model | Fake CPU 3000 |",
                 "| threads | 2 |", "| precision | fp32 |", "| dataset | mnist-small |", "| train images | 5,000 |",
                 "| wall-clock of the whole study | 1 min 16 s |", "| cnnlab version | 0.1.0 |"):
        assert text in manifest


@pytest.mark.slow
def test_rerender_and_runs_dir_override(make_study, tmp_path):
    study_dir = make_study(analyses=[])
    render(study_dir)
    stale = study_dir / "plots" / "old_model.png"
    stale.write_bytes(PNG)
    # The whole results tree moved: point at the runs explicitly.
    moved = tmp_path / "elsewhere"
    (study_dir.parent.parent / "runs").rename(moved)
    md_path, _ = render_report(study_dir, runs_dir=moved, dpi=DPI)
    assert "4 of 4 runs done" in md_path.read_text(encoding="utf-8")
    assert not stale.exists()


def test_missing_or_corrupt_study_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no study.json"):
        render_report(tmp_path)
    (tmp_path / "study.json").write_text("{not json")
    with pytest.raises(UserError, match="not a valid study file"):
        render_report(tmp_path)
    (tmp_path / "study.json").write_text('{"name": "old", "runs": []}')  # results of cnnlab before schema 2
    with pytest.raises(UserError, match="written by an older cnnlab .results format 1.*run the study again"):
        render_report(tmp_path)


def test_run_keys_cannot_escape_the_runs_dir(make_study):
    study_dir = make_study(analyses=[])
    info = read_study(study_dir / STUDY_FILE)
    runs = (replace(info.runs[0], run_key="../../studies/fake"), *info.runs[1:])
    atomic_write_json(study_dir / STUDY_FILE, replace(info, runs=runs).to_json())
    run = load_results(study_dir).models[0].runs[0]
    assert run.status == "missing" and run.seed == 0


@pytest.mark.parametrize("sharing,expected", [(1, None), (3, "up to 3 runs at once"),
                                              (None, "an unknown number of runs (Ray)")])
@pytest.mark.slow
def test_summary_says_when_timed_runs_shared_their_device(make_study, sharing, expected):
    md, html = render(make_study(analyses=["inference"], sharing=sharing))
    summary = sections_md(md)["Summary"]
    if expected is None:
        assert "shared their device" not in summary
    else:
        assert f"4 of 4 runs shared their device with other runs ({expected})" in summary
        assert "not comparable with times measured with the device to itself" in summary
    assert "| training steps | 4 runs: eager |" in sections_md(md)["Manifest"]


@pytest.mark.parametrize("channels_last,details", [(False, "(Fake CPU 3000, 2 threads, fp32)"),
                                                   (True, "(Fake CPU 3000, 2 threads, fp32, channels-last)")])
@pytest.mark.slow
def test_latency_note_names_hardware_threads_precision_and_layout(make_study, channels_last, details):
    study_dir = make_study(analyses=["inference"])
    for path in (study_dir.parent.parent / RUNS_DIR).iterdir():
        run = RunDir(path)
        analysis = run.load().analysis
        analysis["inference"]["channels_last"] = channels_last
        run.write_analysis(analysis)
    md, html = render(study_dir)
    assert f"synchronised when on a GPU {details}; throughput" in sections_md(md)["Summary"]


# --- damaged study.json listings (issue 40) -----------------------------------------------------------------

@pytest.mark.parametrize("looks", [[2, "x", None, -1, 0, 1e9], [3, 2], [0]])
def test_damaged_looks_are_one_line_not_a_traceback(make_study, looks, capsys, damage_file):
    """Before: a 58-line ValueError ("looks must add information") in `cnnlab report`."""
    from cnnlab.cli import main
    from cnnlab.store.schema import STUDY_FILE

    study_dir = make_study()
    damage_file(study_dir / STUDY_FILE, lambda d: {**d, "looks": looks})
    assert main(["report", str(study_dir)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'looks' is" in err and "damaged" in err


def test_a_run_listed_twice_counts_once(make_study, damage_file):
    """Before: study.json with its runs listed twice counted 8 seeds where there were 4."""
    from cnnlab.results import load_results
    from cnnlab.store.schema import STUDY_FILE

    study_dir = make_study(seeds=(0, 1, 2, 3))
    damage_file(study_dir / STUDY_FILE, lambda d: {**d, "runs": d["runs"] + d["runs"]})
    study = load_results(study_dir)
    assert [len(m.values("test_acc")) for m in study.models] == [4, 4]


def test_a_listing_that_credits_one_models_runs_to_another_is_damage(make_study, damage_file):
    """Before: study.json with two models' labels swapped credited A's runs to B without a word."""
    from cnnlab.report.findings import run_problems
    from cnnlab.results import load_results
    from cnnlab.store.schema import STUDY_FILE

    study_dir = make_study()
    swapped = {"FC": "Simple CNN", "Simple CNN": "FC"}
    damage_file(study_dir / STUDY_FILE,
                lambda d: {**d, "runs": [{**run, "label": swapped[run["label"]]} for run in d["runs"]]})
    study = load_results(study_dir)
    assert all(not m.values("test_acc") for m in study.models)  # nothing credited to the wrong model
    assert any("under the label" in line for line in run_problems(study.models))
