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
