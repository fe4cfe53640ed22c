import json

from .test_loader import BUILTIN


def test_studies_lists_builtins_with_dataset_models_and_run_count(cli):
    code, stdout, _ = cli("studies")
    assert code == 0
    for name, (reference, dataset, models) in BUILTIN.items():
        line = next(line for line in stdout.splitlines() if line.startswith(name + " "))
        assert reference in line and dataset in line
        assert f"{len(models)}x3 = {3 * len(models)}" in line  # models x seeds = runs
    code, stdout, _ = cli("studies", "--json")
    rows = {r["name"]: r for r in json.loads(stdout)}
    assert set(rows) == set(BUILTIN)
    assert all(r["runs"] == len(r["models"]) * len(r["seeds"]) for r in rows.values())
