"""The README's generated parts (layout, network table, results) equal what the registry and results/ say."""

from __future__ import annotations

import importlib.util
import re

import pytest
from conftest import CONFIGS, ROOT

import zoo

spec = importlib.util.spec_from_file_location("readme", ROOT / "scripts" / "readme.py")
readme = importlib.util.module_from_spec(spec)
spec.loader.exec_module(readme)

RESULT_FILES = sorted((ROOT / "results").glob("*.yaml"))


def test_the_readme_is_what_the_registry_and_the_results_generate():
    text = (ROOT / "README.md").read_text()
    assert readme.generate(text) == text, "README.md is out of date: run python scripts/readme.py"


def test_every_results_file_has_its_place_in_the_readme():
    text = (ROOT / "README.md").read_text()
    for path in RESULT_FILES:
        assert f"<!-- generated: results/{path.name} -->" in text, path.name


@pytest.mark.parametrize("path", RESULT_FILES, ids=lambda p: p.stem)
def test_every_result_says_what_was_run_where_and_when(path):
    for table in readme.load_results(path):
        for run in table["runs"]:
            assert run.get("command") and run.get("metrics"), run
            assert run.get("hardware", table.get("hardware")) and run.get("date", table.get("date")), run
            if "model" in run:
                assert run["model"] in zoo.list_models(), run["model"]
            for config in re.findall(r"--config (configs/\S+\.yaml)", run["command"]):
                assert (CONFIGS.parent / config).is_file(), config


def test_a_table_shows_same_for_a_command_that_only_adds_flags():
    table = {"hardware": "cpu", "date": "2026-12-01", "columns": [["Command", "command"], ["acc", "val/acc"]]}
    table["runs"] = [
        {"command": "python cli.py fit --config a.yaml", "metrics": {"val/acc": "0.80"}},
        {"command": "python cli.py fit --config a.yaml --model.impl scratch", "metrics": {"val/acc": "0.81"}},
    ]
    text = readme.results_table(table)
    assert "| same `--model.impl scratch` | 0.81 |" in text and "| `python cli.py fit --config a.yaml` | 0.80 |" in text
    assert "Measured on: cpu, 2026-12-01." in text


def test_the_targets_table_counts_each_seeds_newest_run_of_the_shipped_recipe_at_two_threads(tmp_path):
    fields = ["date", "network", "epochs", "device", "threads", "precision", "zoo_flags", "seed", "speedup"]
    runs = [
        ("2026-12-01", "lenet", "10", "CPU A (2 cores)", "2", "32", "", "0", "1.50"),  # replaced by the newer run
        ("2026-12-02", "lenet", "10", "CPU A (2 cores)", "2", "32", "", "0", "2.40"),
        ("2026-12-02", "lenet", "10", "CPU A (2 cores)", "2", "32", "", "1", "2.10"),
        ("2026-12-02", "lenet", "10", "CPU A (2 cores)", "1", "32", "", "2", "0.50"),  # one thread: not counted
        ("2026-12-02", "lenet", "10", "CPU A (2 cores)", "2", "32", "--model.channels_last false", "3", "0.5"),
        ("2026-12-02", "lenet", "1", "CPU B (2 cores)", "2", "32", "", "0", "3.00"),  # not the recipe's 10 epochs
        ("2026-12-02", "gru", "500", "CPU B (2 cores)", "2", "32", "", "0", "1.20"),
        ("2026-12-02", "gru", "500", "CPU B (2 cores)", "2", "bf16-mixed", "", "0", "1.40"),
        ("2026-12-02", "gru", "500", "CPU B (2 cores)", "2", "bf16-mixed", "", "1", "1.60"),
        ("2026-12-02", "mlp", "1", "CPU A (2 cores)", "2", "32", "", "0", "9.00"),  # shorter than the longest run
        ("2026-12-02", "mlp", "2", "CPU A (2 cores)", "2", "32", "", "0", "3.00"),
        ("2026-12-02", "lenet", "10", "NVIDIA H200", "2", "32", "", "0", "9.00"),  # a GPU: not a CPU column
    ]
    path = tmp_path / "benchmarks.csv"
    path.write_text(",".join(fields) + "\n" + "\n".join(",".join(run) for run in runs) + "\n")
    lines = readme.targets_table(path).splitlines()
    assert lines[0] == "| Target (zoo / book loop) | CPU A (2 cores) | CPU B (2 cores) |"
    cells = [line.strip("| ").split(" | ") for line in lines[2:]]
    row = {target: rest for target, *rest in cells}
    assert row["LeNet, 10 epochs: >= 2x"] == ["2.10-2.40x (2 seeds), **met**", "-"]
    assert row["0.17 GRU language model, 500 epochs, fp32: >= 1.5x"] == ["-", "1.20x, **missed**"]
    assert row["0.17 GRU language model, 500 epochs, bf16-mixed: >= 1.5x"] == ["-", "1.40-1.60x (2 seeds), **mixed**"]
    assert row["MLP: >= 1x"] == ["3.00x, 2 ep, **met**", "-"]
