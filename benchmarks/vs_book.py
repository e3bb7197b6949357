"""Training throughput of the zoo against the book's own training loop, on the same machine.

The "book" side is the D2L 0.17/2.0 code path, transcribed for this benchmark: torchvision's
``FashionMNIST`` with ``ToTensor`` (and ``Resize``) per image in DataLoader workers and the
``train_ch6`` loop, or ``train_ch8``'s loop over ``seq_data_iter_sequential`` for language models.
The "zoo" side is ``cli.py fit`` with the same network, recipe and device. Both print training
examples (tokens) per second, excluding evaluation, as the book does.

    D2L_ZOO_DATA=/path/to/data python benchmarks/vs_book.py lenet --epochs 1
    python benchmarks/vs_book.py gru --epochs 20          # The Time Machine ships with the package
    python benchmarks/vs_book.py alexnet --epochs 1 --device cuda

Run each side alone on the machine; the figures are only comparable on the same hardware.
"""

from __future__ import annotations

import argparse
import gzip
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import zoo  # noqa: E402

RECIPES = {  # registry name: (config, batch size, lr, resize)
    "lenet": ("convnets/lenet.yaml", 256, 0.9, None),
    "alexnet": ("convnets/alexnet.yaml", 128, 0.01, 224),
    "resnet18": ("convnets/resnet18.yaml", 256, 0.05, 96),
}


def book_fashion_mnist_loader(batch_size: int, resize: int | None, workers: int):
    """The book's ``load_data_fashion_mnist``: torchvision dataset, per-image transforms, 4 workers."""
    import torchvision
    from torchvision import transforms

    from datamodules import FashionMNIST

    data = FashionMNIST()
    data.prepare_data()
    root = Path(tempfile.mkdtemp())
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for f in FashionMNIST.remote_files():
        with gzip.open(data.folder / f.name) as src, open(raw / f.name[:-3], "wb") as dst:
            shutil.copyfileobj(src, dst)
    trans = [transforms.ToTensor()]
    if resize:
        trans.insert(0, transforms.Resize(resize))
    train = torchvision.datasets.FashionMNIST(str(root), train=True, transform=transforms.Compose(trans))
    return torch.utils.data.DataLoader(train, batch_size, shuffle=True, num_workers=workers)


def book_train_ch6(net: nn.Module, loader, epochs: int, lr: float, device: torch.device) -> float:
    """The book's ``train_ch6`` training loop (Xavier init, SGD, cross-entropy); returns examples/s."""

    def init_weights(m):
        if type(m) in (nn.Linear, nn.Conv2d):
            nn.init.xavier_uniform_(m.weight)

    net.apply(init_weights)
    net.to(device)
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    loss = nn.CrossEntropyLoss()
    seconds, examples = 0.0, 0
    for _ in range(epochs):
        net.train()
        start = time.perf_counter()
        for X, y in loader:
            optimizer.zero_grad()
            X, y = X.to(device), y.to(device)
            y_hat = net(X)
            l = loss(y_hat, y)  # noqa: E741  (the book's name)
            l.backward()
            optimizer.step()
            with torch.no_grad():  # the book's Accumulator: loss, accuracy, count (synchronises)
                float(l * X.shape[0]), float((y_hat.argmax(axis=1) == y).sum()), X.shape[0]
            examples += X.shape[0]
        seconds += time.perf_counter() - start
    return examples / seconds


def book_train_ch8_gru(epochs: int, device: torch.device) -> float:
    """The book's ``train_ch8`` with ``RNNModel(nn.GRU(28, 256))`` on 10,000 characters; returns tokens/s."""
    import random

    from datamodules.text.timemachine import bundled_time_machine

    lines = bundled_time_machine().read_text().splitlines()
    lines = [re.sub("[^A-Za-z]+", " ", line).strip().lower() for line in lines]
    chars = [c for line in lines for c in line]
    idx = {c: i for i, c in enumerate(["<unk>", *sorted(set(chars))])}
    corpus = [idx[c] for c in chars][:10000]
    batch_size, num_steps, vocab_size, hiddens = 32, 35, len(idx), 256

    def seq_data_iter_sequential():
        offset = random.randint(0, num_steps)
        num_tokens = ((len(corpus) - offset - 1) // batch_size) * batch_size
        Xs = torch.tensor(corpus[offset : offset + num_tokens]).reshape(batch_size, -1)
        Ys = torch.tensor(corpus[offset + 1 : offset + 1 + num_tokens]).reshape(batch_size, -1)
        for i in range(0, Xs.shape[1] // num_steps * num_steps, num_steps):
            yield Xs[:, i : i + num_steps], Ys[:, i : i + num_steps]

    rnn, linear = nn.GRU(vocab_size, hiddens).to(device), nn.Linear(hiddens, vocab_size).to(device)
    params = [*rnn.parameters(), *linear.parameters()]
    optimizer, loss = torch.optim.SGD(params, lr=1), nn.CrossEntropyLoss()
    seconds, tokens = 0.0, 0
    for _ in range(epochs):
        state, start = None, time.perf_counter()
        for X, Y in seq_data_iter_sequential():
            state = torch.zeros(1, batch_size, hiddens, device=device) if state is None else state.detach()
            X, y = X.to(device), Y.T.reshape(-1).to(device)
            out, state = rnn(nn.functional.one_hot(X.T.long(), vocab_size).float(), state)
            l = loss(linear(out.reshape(-1, hiddens)), y.long()).mean()  # noqa: E741
            optimizer.zero_grad()
            l.backward()
            norm = torch.sqrt(sum(torch.sum(p.grad**2) for p in params))  # the book's grad_clipping
            if norm > 1:
                for p in params:
                    p.grad[:] *= 1 / norm
            optimizer.step()
            float(l * y.numel())
            tokens += y.numel()
        seconds += time.perf_counter() - start
    return tokens / seconds


def zoo_rate(config: str, epochs: int, device: str) -> float:
    """``cli.py fit`` with the network's config; returns the EpochSummary throughput."""
    from cli import run
    from zoo.core.callbacks import EpochSummary

    args = ["fit", "--config", str(Path(__file__).resolve().parents[1] / "configs" / config)]
    args += [
        "--trainer.max_epochs",
        str(epochs),
        "--trainer.enable_checkpointing",
        "false",
        "--trainer.logger",
        "false",
    ]
    args += ["--trainer.accelerator", "gpu" if device.startswith("cuda") else "cpu", "--trainer.devices", "1"]
    cli = run(args)
    summary = next(c for c in cli.trainer.callbacks if isinstance(c, EpochSummary))
    return summary.train_items / summary.train_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("network", choices=[*RECIPES, "gru"])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--workers", type=int, default=4, help="book side's DataLoader workers (the book uses 4)")
    parser.add_argument("--side", choices=["both", "book", "zoo"], default="both")
    args = parser.parse_args()
    device = torch.device(args.device)
    unit = "tokens/s" if args.network == "gru" else "examples/s"
    results = {}
    if args.side in ("both", "book"):
        if args.network == "gru":
            results["book"] = book_train_ch8_gru(args.epochs, device)
        else:
            _, batch_size, lr, resize = RECIPES[args.network]
            loader = book_fashion_mnist_loader(batch_size, resize, args.workers)
            results["book"] = book_train_ch6(zoo.get_model(args.network).net, loader, args.epochs, lr, device)
    if args.side in ("both", "zoo"):
        config = "rnn/gru_time_machine.yaml" if args.network == "gru" else RECIPES[args.network][0]
        results["zoo"] = zoo_rate(config, args.epochs, args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    for side, rate in results.items():
        print(
            f"{args.network:10s} {side:5s} {rate:12,.0f} {unit}  ({args.epochs} epoch(s), {name}, "
            f"{torch.get_num_threads()} threads)"
        )
    if len(results) == 2:
        print(f"zoo / book: {results['zoo'] / results['book']:.2f}x")


if __name__ == "__main__":
    main()
