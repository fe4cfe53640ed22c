"""Studies: a TOML file names a dataset, models, shared training settings, seeds and
analyses; `run_study` trains and measures every (model, seed) and writes the report.

    from cnnlab.studies import load_study, run_study
    info = run_study(load_study("mnist-fc-vs-cnn").with_overrides(epochs=1), "runs")

Modules: loader (TOML -> Study), options (what a caller asks for -> a sized Study and run
options), option_names (errors name options as the caller wrote them), plan (Study -> RunConfigs),
policy (workers and threads per run), execute (one run), executors (where runs execute),
analyse (measurements after training), runner (the driver), run_all (`cnnlab run all`).
The built-in study files sit next to this file as *.toml.
"""

# Imported on first use, so `cnnlab --help` does not pay for importing torch.
_EXPORTS = {"load_study": "loader", "builtin_names": "loader", "Study": "loader",
            "plan_runs": "plan", "execute_run": "run_one", "run_study": "runner"}


def __getattr__(name):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f"cnnlab.studies.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'cnnlab.studies' has no attribute {name!r}")


__all__ = list(_EXPORTS)
