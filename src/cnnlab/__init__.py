"""cnnlab: controlled, reproducible experiments comparing image-classification architectures.

The notebook API (cnnlab/api.py) is loaded on first use, so `import cnnlab` and the
command line's `--help` do not pay for importing torch:

    cnnlab.run(study, out="runs", epochs=..., seeds=...) -> StudyResult
    cnnlab.load("runs/studies/<name>") -> StudyResult
    cnnlab.train_model("simple-cnn", "mnist-small", epochs=3) -> StudyResult
    cnnlab.load_model("runs/runs/<run key>") -> torch.nn.Module (trained, eval mode)
    cnnlab.create_model(name, in_shape, num_classes, **kwargs) -> torch.nn.Module
    cnnlab.check_layer(layer, *inputs, reference=None) -> LayerCheck (a hand-written backward, checked)
"""

from cnnlab.version import __version__

API = ("run", "load", "train_model", "create_model", "load_model", "StudyResult", "check_layer")
__all__ = ["__version__", *API]


def __getattr__(name):
    if name in API:
        from cnnlab import api

        return getattr(api, name)
    raise AttributeError(f"module 'cnnlab' has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *API})
