"""The zoo against the book's own code: the same network, recipe, data and epochs, in one process, end to end.

For each network the book's code path (``benchmarks/book_loops.py``: its data pipeline, training loop and
per-epoch evaluation, transcribed) and the zoo's ``cli.py fit --config <recipe>`` (parsing, data, training,
validation, checkpoints and logs: what a user runs) are timed by wall clock from start to the last evaluation,
alternating ``--repeats`` times. It prints seconds, examples (tokens) per second, the figure both reach (test
accuracy, perplexity or loss) and zoo / book, and appends one CSV row per (network, device, precision, torch,
date) to ``benchmarks/results/benchmarks.csv``, from which the README's performance table is generated.

Real data comes from ``$D2L_ZOO_DATA``; without it the image sets are synthetic files of the real shape and
format (random pixels: accuracies then mean nothing, the CSV says ``synthetic``). The Time Machine ships with
the package.

    OMP_NUM_THREADS=1 D2L_ZOO_DATA=/data python benchmarks/vs_book.py lenet --repeats 3
    python benchmarks/vs_book.py gru --epochs 100
    python benchmarks/vs_book.py resnet18 --device cuda --precision bf16-mixed -- --data.on_device true
    python benchmarks/vs_book.py --list

Flags after ``--`` go to the zoo's ``cli.py fit`` only. The book's side always trains in float32, as its code
does; ``--precision`` is the zoo's.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import gzip
import hashlib
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import book_loops  # noqa: E402

import zoo  # noqa: E402

CSV_PATH = ROOT / "benchmarks" / "results" / "benchmarks.csv"
COLUMNS = [
    "date", "network", "config", "epochs", "data", "device", "threads", "load", "precision", "torch", "lightning",
    "book_seconds", "zoo_seconds", "speedup", "unit", "book_rate", "zoo_rate", "metric", "book_metric",
    "zoo_metric", "repeats", "zoo_flags", "seed",
]  # fmt: skip


@dataclass(frozen=True)
class Benchmark:
    config: str  # the zoo's recipe, under configs/
    book: Callable[[dict, int, str], dict]  # (recipe, epochs, device) -> the book loop's result
    metric: str  # what both report: "test acc", "train ppl", "val ppl", "loss"
    zoo_metric: Callable  # (cli) -> the zoo's figure
    unit: str = "examples"
    data: str = "fashion-mnist"


def recipe(config: str) -> dict:
    """The recipe's hyperparameters the book's side needs (lr, batch size, resize, epochs) from the zoo's config."""
    text = yaml.safe_load((ROOT / "configs" / config).read_text())
    model, data = text["model"].get("init_args", {}), text["data"].get("init_args", {})
    return {
        "lr": model.get("lr"),
        "batch_size": data.get("batch_size"),
        "resize": data.get("resize"),
        "epochs": text["trainer"]["max_epochs"],
    }


def ch6(name: str, **overrides) -> Callable:
    def run(r: dict, epochs: int, device: str) -> dict:
        # the book builds its network with PyTorch's initialisation, then train_ch6 draws the Xavier weights
        net = zoo.get_model(name, init="default", **overrides).net
        return book_loops.train_ch6(net, epochs, r["lr"], r["batch_size"], r["resize"], device)

    return run


def ch3(name: str) -> Callable:
    def run(r: dict, epochs: int, device: str) -> dict:
        return book_loops.train_ch3(zoo.get_model(name, impl="concise").net, epochs, r["lr"], r["batch_size"], device)

    return run


def course(name: str) -> Callable:
    def run(r: dict, epochs: int, device: str) -> dict:
        return book_loops.course_loop(zoo.get_model(name), epochs, device)

    return run


def language_model(config: str, loop: Callable, metric: str, logged: str) -> Benchmark:
    """A Time Machine language model: the book's `loop(epochs, device)` against the zoo's `config`, both reporting
    the perplexity the zoo logs as `logged`."""
    return Benchmark(
        config,
        lambda r, epochs, device: loop(epochs, device),
        metric,
        lambda cli: float(cli.trainer.callback_metrics[logged]),
        unit="tokens",
        data="time-machine",
    )


def val_acc(cli) -> float:
    return float(cli.trainer.callback_metrics["val/acc"])


BENCHMARKS: dict[str, Benchmark] = {
    "softmax_regression": Benchmark("linear/softmax_regression.yaml", ch3("softmax_regression"), "test acc", val_acc),
    "mlp": Benchmark("mlp/mlp.yaml", ch3("mlp"), "test acc", val_acc),
    "lenet": Benchmark("convnets/lenet.yaml", ch6("lenet"), "test acc", val_acc),
    "batchnorm_lenet": Benchmark(
        "convnets/batchnorm_lenet.yaml", ch6("batchnorm_lenet", impl="scratch"), "test acc", val_acc
    ),
    "alexnet": Benchmark("convnets/alexnet.yaml", ch6("alexnet"), "test acc", val_acc),
    "vgg": Benchmark("convnets/vgg.yaml", ch6("vgg"), "test acc", val_acc),
    "nin": Benchmark("convnets/nin.yaml", ch6("nin"), "test acc", val_acc),
    "googlenet": Benchmark("convnets/googlenet.yaml", ch6("googlenet"), "test acc", val_acc),
    "resnet18": Benchmark("convnets/resnet18.yaml", ch6("resnet18"), "test acc", val_acc),
    "densenet": Benchmark("convnets/densenet.yaml", ch6("densenet"), "test acc", val_acc),
    "course_logistic": Benchmark(
        "course/companion_logistic.yaml", course("course_logistic"), "test acc", val_acc, data="mnist"
    ),
    "course_fc": Benchmark("course/companion_fc.yaml", course("course_fc"), "test acc", val_acc, data="mnist"),
    "course_cnn": Benchmark("course/companion_cnn.yaml", course("course_cnn"), "test acc", val_acc, data="mnist"),
    "course_inception": Benchmark(
        "course/companion_inception.yaml", course("course_inception"), "test acc", val_acc, data="mnist"
    ),
    "course_residual": Benchmark(
        "course/companion_residual.yaml", course("course_residual"), "test acc", val_acc, data="mnist"
    ),
    "gru": language_model("rnn/gru_time_machine.yaml", book_loops.train_ch8, "train ppl", "train/ppl"),
    "gru_v1": language_model("rnn/gru_time_machine_v1.yaml", book_loops.trainer_v1_lm, "val ppl", "val/ppl"),
    "seq2seq": Benchmark(
        "rnn/seq2seq.yaml",
        lambda r, epochs, device: book_loops.train_seq2seq(epochs, device),
        "loss",  # the book's: per token / num_steps
        lambda cli: float(cli.trainer.callback_metrics["train/loss"]) / cli.model.hparams.num_steps,
        unit="tokens",
        data="fra-eng",
    ),
}


# --- synthetic data of the real shape, when there is no real copy -----------------------------------------


def write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


SYNTHETIC_SIZES = (60000, 10000)  # training and test images, as in the real sets


def use_synthetic(data_cls, root: Path) -> None:
    """Random idx files of `data_cls`'s shapes (SYNTHETIC_SIZES 28x28 images) under `root`; their md5s replace the
    published ones, so the zoo's checks still run."""
    from datamodules import RemoteFile

    rng = np.random.default_rng(0)
    folder = root / data_cls.folder_name
    folder.mkdir(parents=True, exist_ok=True)
    remotes = []
    for remote in data_cls.remote_files():
        n = SYNTHETIC_SIZES[0] if remote.name.startswith("train") else SYNTHETIC_SIZES[1]
        shape = (n, 28, 28) if "images" in remote.name else (n,)
        write_idx(folder / remote.name, rng.integers(0, 256 if len(shape) > 1 else 10, shape))
        digest = hashlib.md5((folder / remote.name).read_bytes()).hexdigest()
        remotes.append(RemoteFile(remote.name, remote.url, f"md5:{digest}"))
    data_cls.remote_files = classmethod(lambda cls: remotes)


def prepare_data(bench: Benchmark) -> str:
    """'real' when the data is there (or ships with the package); else synthetic files are written and used."""
    from datamodules import MNIST, DataError, FashionMNIST, Translation

    if bench.data == "time-machine":
        return "real"
    try:
        if bench.data == "fra-eng":
            Translation(download=False).text_path()
        else:
            (FashionMNIST if bench.data == "fashion-mnist" else MNIST)(download=False).fetch()
        return "real"
    except DataError:
        if bench.data == "fra-eng":
            raise SystemExit("seq2seq needs fra-eng/fra.txt: point D2L_ZOO_DATA at a folder holding it") from None
    root = Path(tempfile.mkdtemp())
    use_synthetic(FashionMNIST if bench.data == "fashion-mnist" else MNIST, root)
    os.environ["D2L_ZOO_DATA"] = str(root)
    return "synthetic"


# --- the two sides ------------------------------------------------------------------------------------------


def zoo_side(
    bench: Benchmark, epochs: int, device: str, precision: str | None, flags: list[str], seed: int = 0
) -> dict:
    """``cli.py fit`` as a user runs it (checkpoints and the CSV log in a temporary folder), timed end to end."""
    from cli import run
    from zoo.core.callbacks import EpochSummary

    args = ["fit", "--config", str(ROOT / "configs" / bench.config), "--trainer.max_epochs", str(epochs)]
    args += ["--trainer.accelerator", "gpu" if device.startswith("cuda") else "cpu", "--trainer.devices", "1"]
    args += ["--trainer.default_root_dir", tempfile.mkdtemp(), "--trainer.enable_progress_bar", "false"]
    args += ["--trainer.precision", precision] if precision else []
    args += ["--seed_everything", str(seed)]
    argv, sys.argv = sys.argv, sys.argv[:1]  # LightningCLI warns when it gets both `args` and sys.argv's own
    try:
        start = time.perf_counter()
        cli = run([*args, *flags])
        seconds = time.perf_counter() - start
    finally:
        sys.argv = argv
    summary = next(c for c in cli.trainer.callbacks if isinstance(c, EpochSummary))
    return {"seconds": seconds, "items": summary.train_items, "metric": bench.zoo_metric(cli)}


def device_name(device: str) -> str:
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    model = next((line.split(":", 1)[1].strip() for line in _cpuinfo() if line.startswith("model name")), "")
    isa = torch.backends.cpu.get_cpu_capability()  # AVX2 or AVX512: one model name covers CPUs that differ in it
    return f"{model or platform.processor() or 'CPU'} ({os.cpu_count()} cores, {isa})"


def _cpuinfo() -> list[str]:
    try:
        return Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return []


def other_jobs_load(seconds: float = 2.0) -> float | None:
    """How many cores other processes keep busy, sampled over `seconds` while this one waits (Linux's /proc/stat;
    elsewhere the 1-minute load average, which still counts a run that has just ended)."""

    def busy_and_total() -> tuple[int, int]:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle and iowait
        return sum(fields) - idle, sum(fields)

    try:
        busy0, total0 = busy_and_total()
        time.sleep(seconds)
        busy1, total1 = busy_and_total()
    except (OSError, ValueError, IndexError):
        return os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return (busy1 - busy0) / max(total1 - total0, 1) * (os.cpu_count() or 1)


def append_csv(row: dict, path: Path = CSV_PATH) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.is_file()
    with open(path, "a", newline="") as f:
        writer = csv.DictWriter(f, COLUMNS)
        if new:
            writer.writeheader()
        writer.writerow(row)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    zoo_flags = argv[argv.index("--") + 1 :] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("networks", nargs="*", metavar="NETWORK", help="one or several of --list")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--epochs", type=int, help="epochs for both sides (default: the recipe's)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--precision", help="the zoo's trainer.precision, e.g. bf16-mixed (the book's is 32)")
    parser.add_argument("--repeats", type=int, default=1, help="alternate the two sides this many times; medians")
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="both sides' random seed (initial weights, shuffles): accuracies at "
        "recipes with a large learning rate swing from seed to seed, so compare several",
    )
    parser.add_argument("--side", choices=["both", "book", "zoo"], default="both")
    parser.add_argument("--csv", type=Path, default=CSV_PATH, help="where to append the result rows")
    parser.add_argument("--no-csv", action="store_true", help="print only")
    args = parser.parse_args(argv)
    if args.list or not args.networks:
        for name, bench in BENCHMARKS.items():
            print(f"{name:20s} configs/{bench.config:36s} {bench.metric:9s} ({bench.data})")
        return
    unknown = [name for name in args.networks if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown network(s) {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    import lightning

    for name in args.networks:
        bench = BENCHMARKS[name]
        data = prepare_data(bench)
        r = recipe(bench.config)
        epochs = args.epochs or r["epochs"]
        load = other_jobs_load()
        results: dict[str, list[dict]] = {"book": [], "zoo": []}
        for _ in range(args.repeats):
            for side in ("book", "zoo"):
                if args.side not in ("both", side):
                    continue
                lightning.seed_everything(args.seed, verbose=False)  # torch, random and numpy, as the zoo seeds them
                if side == "book":
                    out = bench.book(r, epochs, args.device)
                else:
                    out = zoo_side(bench, epochs, args.device, args.precision, zoo_flags, args.seed)
                results[side].append(out)
                print(
                    f"{name} {side}: {out['seconds']:.1f} s, {out['items'] / out['seconds']:,.0f} {bench.unit}/s, "
                    f"{bench.metric} {out['metric']:.4f}",
                    flush=True,
                )
        medians = {
            side: {
                "seconds": statistics.median(o["seconds"] for o in runs),
                "rate": statistics.median(o["items"] / o["seconds"] for o in runs),
                "metric": statistics.median(o["metric"] for o in runs),
            }
            for side, runs in results.items()
            if runs
        }
        speedup = medians["book"]["seconds"] / medians["zoo"]["seconds"] if len(medians) == 2 else None
        line = "  ".join(
            f"{side} {m['seconds']:.1f} s ({m['rate']:,.0f} {bench.unit}/s, {bench.metric} {m['metric']:.4f})"
            for side, m in medians.items()
        )
        print(f"{name}, {epochs} epochs, {device_name(args.device)}, {torch.get_num_threads()} threads: {line}")
        if speedup:
            print(f"zoo / book: {speedup:.2f}x the speed (the book's time over the zoo's, end to end)")
        if args.no_csv or len(medians) < 2:
            continue
        book, zoo_side_ = medians["book"], medians["zoo"]
        append_csv(
            {
                "date": datetime.date.today().isoformat(),
                "network": name,
                "config": bench.config,
                "epochs": epochs,
                "data": data,
                "device": device_name(args.device),
                "threads": torch.get_num_threads() if not args.device.startswith("cuda") else "",
                "load": "" if load is None else f"{load:.1f}",
                "precision": args.precision or "32",
                "torch": torch.__version__,
                "lightning": lightning.__version__,
                "book_seconds": f"{book['seconds']:.1f}",
                "zoo_seconds": f"{zoo_side_['seconds']:.1f}",
                "speedup": f"{speedup:.2f}",
                "unit": bench.unit,
                "book_rate": f"{book['rate']:.0f}",
                "zoo_rate": f"{zoo_side_['rate']:.0f}",
                "metric": bench.metric,
                "book_metric": f"{book['metric']:.4f}",
                "zoo_metric": f"{zoo_side_['metric']:.4f}",
                "repeats": args.repeats,
                "zoo_flags": " ".join(zoo_flags),
                "seed": args.seed,
            },
            args.csv,
        )
        print(f"appended to {args.csv}")


if __name__ == "__main__":
    main()
