import textwrap

import pytest

from cnnlab.cli import main

ALL_ANALYSES = ["confusion", "grad_flow", "receptive_field", "activations", "inference", "memory",
                "overfitting", "stability"]


def study_toml(name="tiny", models=("fc", "simple-cnn"), seeds=2, epochs=1, subset=128, analyses=ALL_ANALYSES,
               extra="") -> str:
    """A tiny study on the synthetic dataset: fast enough for a unit test."""
    blocks = "\n".join(f'[[models]]\nname = "{m}"\n' for m in models)
    return textwrap.dedent(f"""\
        name = "{name}"
        title = "Tiny test study"
        dataset = "synthetic"
        epochs = {epochs}
        seeds = {seeds}
        subset = {subset}
        analyses = {list(analyses)!r}
        {extra}
        [train]
        batch_size = 32
        precision = "fp32"

    """).replace("'", '"') + blocks


@pytest.fixture
def write_study(tmp_path):
    def write(text=None, filename="study.toml", **kw):
        path = tmp_path / filename
        path.write_text(text if text is not None else study_toml(**kw), encoding="utf-8")
        return path
    return write


@pytest.fixture
def cli(capsys):
    """Run `cnnlab ARGS` in this process; returns (exit code, stdout, stderr)."""
    def run(*args):
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err
    return run
