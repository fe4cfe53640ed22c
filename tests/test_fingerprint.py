"""The code fingerprint in every run key: comments and docstrings do not count, code does."""

import pytest

from cnnlab.fingerprint import RESULT_CODE, code_fingerprint, git_provenance, result_files, source_digest

CODE = '''"""Module docstring."""


def f(x):
    """Docstring."""
    return x + 1  # a comment
'''


def test_source_digest_ignores_comments_docstrings_and_layout():
    same = CODE.replace("# a comment", "# another").replace('"""Docstring."""', '"""Changed."""')
    same = same.replace("return x + 1", "return x+1")
    assert source_digest(same) == source_digest(CODE)
    assert source_digest(CODE.replace("x + 1", "x + 2")) != source_digest(CODE)


def test_fingerprint_covers_models_training_data_and_analyses():
    names = {p.as_posix() for p in result_files()}
    for part in ("/models/basic.py", "/models/layers/lp_pool.py", "/train/trainer.py", "/data/augment.py",
                 "/analyses/memory/measure.py", "/analyses/overfitting/measure.py", "/models/cost.py",
                 "/studies/analyse.py"):
        assert any(n.endswith(part) for n in names), part
    assert not any(n.endswith("/report/build.py") for n in names)  # rendering does not change a number
    assert not any(n.endswith("/analyses/memory/__init__.py") for n in names)  # nor does an analysis's section
    assert not any("/cli/" in n for n in names)  # nor the tables of `cnnlab models` and `cnnlab inspect`
    assert len(code_fingerprint()) == 16 and "models" in RESULT_CODE


def test_git_provenance_in_a_checkout_or_none():
    info = git_provenance()
    if info is None:
        pytest.skip("not running from a git checkout")
    assert len(info["commit"]) == 40 and isinstance(info["dirty"], bool)
