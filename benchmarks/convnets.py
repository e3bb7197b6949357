"""Training-step throughput of the CNN chapter's networks at the book's input sizes and batch sizes.

Times forward + backward + SGD step on random tensors already on the device (no data loading), so it
shows what the network itself costs; ``cli.py fit`` prints the end-to-end figure (EpochSummary).
The book's own figures (examples/s over whole epochs on one V100) are listed for comparison.

    python benchmarks/convnets.py                          # every network, CPU, 3 timed steps each
    python benchmarks/convnets.py --device cuda --steps 20 --csv convnets.csv
    python benchmarks/convnets.py --networks resnet18_28px batchnorm_lenet --batch-size 64 --threads 1
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import zoo  # noqa: E402
from zoo.core.registry import count_parameters, get_model_entry  # noqa: E402

# name: (registry name, its overrides, input side, the book's batch size, the book's examples/s on a V100, ZH / EN)
NETWORKS = {
    "lenet": ("lenet", {}, 28, 256, "55296.6 / 72322.5"),
    "alexnet": ("alexnet", {}, 224, 128, "3941.8 / 4171.2"),
    "vgg": ("vgg", {}, 224, 128, "2463.7 / 2550.9"),
    "nin": ("nin", {}, 224, 128, "3087.6 / 3200.8"),
    "googlenet": ("googlenet", {}, 96, 128, "3265.5 / 3568.0"),
    "batchnorm_lenet": ("batchnorm_lenet", {"impl": "scratch"}, 28, 256, "32293.9 / 34608.7"),
    "batchnorm_lenet_concise": ("batchnorm_lenet", {"impl": "concise"}, 28, 256, "50597.3 / 63564.3"),
    "resnet18": ("resnet18", {}, 96, 256, "5032.7 / 4671.5"),
    "resnet18_28px": ("resnet18_28px", {}, 28, 256, "12.2 / 14.0 s per epoch"),
    "densenet": ("densenet", {}, 96, 256, "5626.3 / 5562.5"),
}


def examples_per_second(name: str, device: torch.device, steps: int, batch_size: int | None) -> dict:
    registered, overrides, side, book_batch, book_rate = NETWORKS[name]
    assert get_model_entry(registered).input_shape[-1] == side
    torch.manual_seed(0)
    model = zoo.get_model(registered, **overrides).to(device).train()
    optimizer = model.configure_optimizers()
    batch = batch_size or book_batch
    X = torch.rand(batch, 1, side, side, device=device)
    y = torch.randint(0, 10, (batch,), device=device)

    def step() -> None:
        loss = model.loss(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    step()  # warm-up: allocations, cuDNN algorithm search
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return {
        "network": name,
        "input": f"{side}x{side}",
        "batch": batch,
        "params": count_parameters(model),
        "examples_per_s": round(steps * batch / seconds, 1),
        "book_examples_per_s_v100": book_rate,
        "device": str(device),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--networks", nargs="+", choices=list(NETWORKS), default=list(NETWORKS))
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    parser.add_argument("--steps", type=int, default=3, help="timed training steps per network")
    parser.add_argument("--batch-size", type=int, default=None, help="default: the book's batch size")
    parser.add_argument("--csv", default=None, help="also write the table to this CSV file")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (torch.set_num_threads)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    rows = []
    print(f"{'network':<24} {'input':>7} {'batch':>5} {'params':>12} {'examples/s':>11}  book (V100, ZH / EN)")
    for name in args.networks:
        row = examples_per_second(name, device, args.steps, args.batch_size)
        rows.append(row)
        print(
            f"{name:<24} {row['input']:>7} {row['batch']:>5} {row['params']:>12,} {row['examples_per_s']:>11,.1f}"
            f"  {row['book_examples_per_s_v100']}",
            flush=True,
        )
    if args.csv:
        import pandas as pd

        pd.DataFrame(rows).to_csv(args.csv, index=False)
        print(f"wrote {args.csv}")


if __name__ == "__main__":
    main()
