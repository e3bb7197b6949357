"""Write the README's generated parts: the layout tree, the network table (from the registry), the results
tables (from ``results/*.yaml``), the performance table and the CPU targets' table (from
``benchmarks/results/*.csv``). Each part sits between ``<!-- generated: NAME -->`` and ``<!-- end -->``.

    python scripts/readme.py           # rewrite README.md in place
    python scripts/readme.py --check   # exit 1 if README.md is not what the registry and results say
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import zoo  # noqa: E402  (after the path: the script runs from anywhere)

README = ROOT / "README.md"
RESULTS = ROOT / "results"
BENCHMARKS = ROOT / "benchmarks" / "results" / "benchmarks.csv"
BLOCK = re.compile(r"(<!-- generated: (?P<name>[\w./-]+) -->\n)(?P<body>.*?)(<!-- end -->)", re.S)


# --- the layout ---------------------------------------------------------------------------------------


def layout() -> str:
    """The chapter folders of zoo/, datamodules/ and configs/ with the files each holds."""
    rows = []
    for top, pattern in (("zoo", "*.py"), ("datamodules", "*.py"), ("configs", "*.yaml")):
        folders = [ROOT / top, *sorted(p for p in (ROOT / top).iterdir() if p.is_dir() and p.name[0] not in "._")]
        for folder in folders:
            files = sorted(p.stem for p in folder.glob(pattern) if p.stem != "__init__")
            if files:
                rows.append((f"{folder.relative_to(ROOT)}/", " ".join(files)))
    width = max(len(name) for name, _ in rows) + 2
    return "```\n" + "\n".join(f"{name:<{width}}{files}" for name, files in rows) + "\n```\n"


# --- results ------------------------------------------------------------------------------------------


def load_results(path: Path) -> list[dict]:
    """The tables of one results file; every scalar stays text, exactly as it was measured."""
    return [table for table in yaml.load_all(path.read_text(), Loader=yaml.BaseLoader) if table]


def _cell(run: dict, key: str, composite: dict) -> str:
    metrics = run.get("metrics") or {}
    if key in composite:
        return ", ".join(f"{label} {metrics[name]}".strip() for name, label in composite[key] if name in metrics) or "-"
    value = run.get(key, metrics.get(key))
    return "-" if value in (None, "") else str(value)


def _command(command: str, base: str | None) -> str:
    """A command in backticks; one that only adds flags to the `base` row's above reads ``same `--flags```."""
    if base and command.startswith(base + " "):
        return f"same `{command[len(base) + 1 :]}`"
    return f"`{command}`"


def results_table(table: dict) -> str:
    columns = table["columns"]
    composite = table.get("composite") or {}
    lines = ["| " + " | ".join(header for header, _ in columns) + " |", "|" + "---|" * len(columns)]
    base = None  # the last command that was not written as "same ..."
    for run in table["runs"]:
        command = run.get("command", "")
        if not (base and command.startswith(base + " ")):
            base = command
        cells = []
        for _, key in columns:
            if key == "command":
                cells.append(_command(command, base if command != base else None))
            else:
                cells.append(_cell(run, key, composite).replace("|", "\\|"))
        lines.append("| " + " | ".join(cells) + " |")
    measured = sorted(
        {(run.get("hardware", table["hardware"]), run.get("date", table["date"])) for run in table["runs"]}
    )
    where = "; ".join(f"{hardware}, {date}" for hardware, date in measured)
    parts = [f"### {table['title']}\n"] if table.get("title") else []
    if table.get("intro"):
        parts.append(table["intro"].strip() + "\n")
    parts += ["\n".join(lines) + "\n", f"Measured on: {where}.\n"]
    if table.get("notes"):
        parts.append(table["notes"].strip() + "\n")
    return "\n".join(parts)


def results(name: str) -> str:
    return "\n".join(results_table(table) for table in load_results(RESULTS / name))


# --- performance: benchmarks/vs_book.py's CSV rows ----------------------------------------------------------


def benchmark_rows(path: Path) -> list[dict]:
    """The newest row of each (network, epochs, device, threads, precision, zoo flags, seed) in a benchmark CSV,
    grouped by network in the order the networks first appear."""
    with open(path, newline="") as f:
        return newest_rows(list(csv.DictReader(f)))


def newest_rows(rows: list[dict]) -> list[dict]:
    """`benchmark_rows` of rows already read."""
    newest: dict[tuple, dict] = {}
    for row in rows:
        key = tuple(row[k] for k in ("network", "epochs", "device", "threads", "precision", "zoo_flags", "seed"))
        if key not in newest or row["date"] >= newest[key]["date"]:
            newest[key] = row
    order = list(dict.fromkeys(key[0] for key in newest))
    return sorted(newest.values(), key=lambda row: order.index(row["network"]))


def benchmark_command(row: dict) -> str:
    threads = f"OMP_NUM_THREADS={row['threads']} " if row["threads"] and row["threads"] != "default" else ""
    command = f"{threads}python benchmarks/vs_book.py {row['network']} --epochs {row['epochs']}"
    command += f" --repeats {row['repeats']}" if row["repeats"] != "1" else ""
    command += f" --precision {row['precision']}" if row["precision"] != "32" else ""
    command += f" --seed {row['seed']}" if row["seed"] != "0" else ""
    return command + (f" -- {row['zoo_flags']}" if row["zoo_flags"] else "")


def _load(load: str) -> str:
    """What else the machine was doing: the load average at the run's start (the first rows say it in words)."""
    words = {"busy": "other jobs running", "idle": "no other job"}
    return f", {words[load]}" if load in words else f", load {load} at start" if load else ""


def benchmarks_table(name: str) -> str:
    rows = benchmark_rows(ROOT / name)
    lines = [
        "| Network | Command | Data | Device | Book loop | Zoo | Zoo / book | Book / zoo figure | Date |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        unit = row["unit"]
        threads = f", {row['threads']} thread(s)" if row["threads"] else ""
        device = row["device"] + threads + _load(row.get("load", ""))
        lines.append(
            f"| {row['network']} | `{benchmark_command(row)}` | {row['data']} | {device} "
            f"| {row['book_seconds']} s ({float(row['book_rate']):,.0f} {unit}/s) "
            f"| {row['zoo_seconds']} s ({float(row['zoo_rate']):,.0f} {unit}/s) | **{row['speedup']}x** "
            f"| {row['metric']} {row['book_metric']} / {row['zoo_metric']} | {row['date']} |"
        )
    versions = sorted({f"torch {row['torch']}, lightning {row['lightning']}" for row in rows})
    return "\n".join(lines) + f"\n\nSoftware: {'; '.join(versions)}. Times are medians of the repeats, wall clock.\n"


# The CPU targets, by the recipe each is measured on: (label, network, epochs or None for any, precision,
# the ratio to reach). Rows with zoo flags (A/B runs of a switch) do not count: each target is the recipe as shipped.
CPU_TARGETS = [
    ("LeNet, 10 epochs", "lenet", "10", "32", 2.0),
    ("0.17 GRU language model, 500 epochs, fp32", "gru", "500", "32", 1.5),
    ("0.17 GRU language model, 500 epochs, bf16-mixed", "gru", "500", "bf16-mixed", 1.5),
    ("1.0 GRU language model (`gru_v1`)", "gru_v1", None, "32", 1.0),
    ("Seq2seq GRU encoder-decoder, 300 epochs", "seq2seq", "300", "32", 1.0),
    ("Softmax regression", "softmax_regression", None, "32", 1.0),
    ("MLP", "mlp", None, "32", 1.0),
    ("BN-LeNet", "batchnorm_lenet", None, "32", 1.0),
    ("Course: logistic regression", "course_logistic", None, "32", 1.0),
    ("Course: fully connected net", "course_fc", None, "32", 1.0),
    ("Course: CNN", "course_cnn", None, "32", 1.0),
    ("Course: residual net", "course_residual", None, "32", 1.0),
    ("Course: Inception net", "course_inception", None, "32", 1.0),
]


def _target_cell(runs: list[dict], goal: float, any_epochs: bool) -> str:
    """Every such run's ratio (the lowest first), whether all, some or none reach `goal`, and the epochs where the
    target does not fix them."""
    if not runs:
        return "-"
    ratios = sorted(float(run["speedup"]) for run in runs)
    mark = "met" if ratios[0] >= goal else "missed" if ratios[-1] < goal else "mixed"
    shown = f"{ratios[0]:.2f}x" if len(ratios) == 1 else f"{ratios[0]:.2f}-{ratios[-1]:.2f}x ({len(ratios)} seeds)"
    epochs = sorted({int(run["epochs"]) for run in runs})
    unit = f", {'/'.join(map(str, epochs))} ep" if any_epochs else ""
    return f"{shown}{unit}, **{mark}**"


def targets_table(path: Path) -> str:
    """The CPU targets against every CPU that ran them at the machine's two threads: the recipe as shipped, the
    newest run of each seed (as in the table below), so the seeds' spread shows."""
    with open(path, newline="") as f:
        every_run = list(csv.DictReader(f))
    rows = [row for row in newest_rows(every_run) if row["threads"] == "2" and not row["zoo_flags"]]
    rows = [row for row in rows if "cores" in row["device"]]  # CPUs ("AMD EPYC (2 cores, AVX2)"), not GPUs
    counted = {row["device"] for row in rows}  # the machines in the order they were first measured:
    devices = [device for device in dict.fromkeys(row["device"] for row in every_run) if device in counted]
    lines = ["| Target (zoo / book loop) | " + " | ".join(devices) + " |", "|---|" + "---|" * len(devices)]
    for label, network, epochs, precision, goal in CPU_TARGETS:
        cells = []
        for device in devices:
            runs = [
                row
                for row in rows
                if row["network"] == network
                and row["device"] == device
                and row["precision"] == precision
                and (epochs is None or row["epochs"] == epochs)
            ]
            if epochs is None and runs:  # the longest runs made on this machine
                longest = max(int(run["epochs"]) for run in runs)
                runs = [run for run in runs if int(run["epochs"]) == longest]
            cells.append(_target_cell(runs, goal, epochs is None))
        lines.append(f"| {label}: >= {goal:g}x | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


# --- the README ----------------------------------------------------------------------------------------


def render(name: str) -> str:
    if name == "layout":
        return layout()
    if name == "networks":
        return zoo.models_table(markdown=True) + "\n"
    if name == "pretrained":
        from zoo.core.pretrained import pretrained_table

        return pretrained_table(markdown=True) + "\n"
    if name == "cpu-targets":
        return targets_table(BENCHMARKS)
    if name.startswith("benchmarks/results/") and name.endswith(".csv"):
        return benchmarks_table(name)
    if name.startswith("results/"):
        return results(name.removeprefix("results/"))
    raise ValueError(f"README asks for an unknown generated part {name!r}")


def generate(text: str) -> str:
    """`text` (the README) with every generated part written anew."""
    return BLOCK.sub(lambda m: m.group(1) + render(m.group("name")) + m.group(4), text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if README.md is out of date")
    args = parser.parse_args(argv)
    text = README.read_text()
    new = generate(text)
    if args.check:
        if new != text:
            print("README.md is out of date: run python scripts/readme.py", file=sys.stderr)
            return 1
        return 0
    README.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
