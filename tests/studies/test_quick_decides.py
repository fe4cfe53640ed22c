"""The quick profile decides what it should (issue 28): a pair whose true difference is large, the
CNN against the fully connected net on MNIST, comes out "better" at the quick size, trained for
real on the bundled MNIST subset."""

import pytest

from cnnlab.cli import main
from cnnlab.report.answers import answers
from cnnlab.results import load_results


@pytest.mark.slow
def test_the_cnn_beats_the_fc_net_on_mnist_at_the_quick_size(tmp_path):
    out = tmp_path / "out"
    assert main(["run", "mnist-fc-vs-cnn", "--profile", "quick", "--out", str(out), "--offline", "--device", "cpu",
                 "--analyses", "overfitting", "--no-report", "--quiet"]) == 0
    results = load_results(out / "studies" / "mnist-fc-vs-cnn")
    comparisons = {frozenset((c.a.label, c.b.label)): c for a in answers(results) for c in a.comparisons}
    c = comparisons[frozenset(("Simple CNN", "FC (3 layers)"))]
    assert c.verdict == "better" and c.a.label == "Simple CNN" and not c.paired, c  # Welch's, the default
    assert c.diff.n_a == c.diff.n_b == len(results.info.seeds) >= 5  # the profile's seeds
