"""Training throughput of the zoo against the book's own training loop, on the same machine.

The "book" side is the D2L 0.17/2.0 code path, transcribed for this benchmark: torchvision's
``FashionMNIST`` with ``ToTensor`` (and ``Resize``) per image in DataLoader workers and the
``train_ch6`` loop, ``train_ch8``'s loop over ``seq_data_iter_sequential`` for language models, or the
seq2seq section's ``load_data_nmt`` and ``train_seq2seq`` for translation. The "zoo" side is ``cli.py fit``
with the same network, recipe and device. Both print training examples (tokens) per second, excluding
evaluation, as the book does; seq2seq also prints the training time and the final loss of both.

    D2L_ZOO_DATA=/path/to/data python benchmarks/vs_book.py lenet --epochs 1
    python benchmarks/vs_book.py gru --epochs 20          # The Time Machine ships with the package
    python benchmarks/vs_book.py alexnet --epochs 1 --device cuda
    D2L_ZOO_DATA=/path/to/data python benchmarks/vs_book.py seq2seq --epochs 300   # fra-eng; the book's recipe

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


def book_train_seq2seq(epochs: int, device: torch.device, num_examples: int = 600) -> dict:
    """The book's (0.17) seq2seq section, transcribed: ``load_data_nmt`` (``preprocess_nmt``, ``tokenize_nmt``,
    ``Vocab``, ``build_array_nmt``, ``load_array``), ``Seq2SeqEncoder``/``Seq2SeqDecoder`` in ``EncoderDecoder``
    and ``train_seq2seq`` (Xavier init, Adam, ``MaskedSoftmaxCELoss``, ``grad_clipping``, the loss and token
    sums per batch). Its ``tokenize_nmt`` reads lines 0..num_examples, so 600 gives 601 pairs. Returns the
    training seconds, tokens/s over every epoch and over the last (what the book prints), and the last epoch's
    loss as the book prints it."""
    import collections

    from torch.utils import data

    from datamodules import Translation

    text_path = Translation(download=False).text_path()
    raw_text = text_path.read_text(encoding="utf-8")

    def preprocess_nmt(text):
        def no_space(char, prev_char):
            return char in set(",.!?") and prev_char != " "

        text = text.replace("\u202f", " ").replace("\xa0", " ").lower()
        out = [" " + char if i > 0 and no_space(char, text[i - 1]) else char for i, char in enumerate(text)]
        return "".join(out)

    def tokenize_nmt(text, num_examples=None):
        source, target = [], []
        for i, line in enumerate(text.split("\n")):
            if num_examples and i > num_examples:
                break
            parts = line.split("\t")
            if len(parts) == 2:
                source.append(parts[0].split(" "))
                target.append(parts[1].split(" "))
        return source, target

    class Vocab:
        def __init__(self, tokens, min_freq=0, reserved_tokens=None):
            tokens = [token for line in tokens for token in line]
            self._token_freqs = sorted(collections.Counter(tokens).items(), key=lambda x: x[1], reverse=True)
            self.idx_to_token = ["<unk>", *(reserved_tokens or [])]
            self.token_to_idx = {token: idx for idx, token in enumerate(self.idx_to_token)}
            for token, freq in self._token_freqs:
                if freq < min_freq:
                    break
                if token not in self.token_to_idx:
                    self.idx_to_token.append(token)
                    self.token_to_idx[token] = len(self.idx_to_token) - 1

        def __len__(self):
            return len(self.idx_to_token)

        def __getitem__(self, tokens):
            if not isinstance(tokens, (list, tuple)):
                return self.token_to_idx.get(tokens, 0)
            return [self.__getitem__(token) for token in tokens]

    def truncate_pad(line, num_steps, padding_token):
        if len(line) > num_steps:
            return line[:num_steps]
        return line + [padding_token] * (num_steps - len(line))

    def build_array_nmt(lines, vocab, num_steps):
        lines = [vocab[line] + [vocab["<eos>"]] for line in lines]
        array = torch.tensor([truncate_pad(line, num_steps, vocab["<pad>"]) for line in lines])
        valid_len = (array != vocab["<pad>"]).type(torch.int32).sum(1)
        return array, valid_len

    batch_size, num_steps = 64, 10
    source, target = tokenize_nmt(preprocess_nmt(raw_text), num_examples)
    src_vocab = Vocab(source, min_freq=2, reserved_tokens=["<pad>", "<bos>", "<eos>"])
    tgt_vocab = Vocab(target, min_freq=2, reserved_tokens=["<pad>", "<bos>", "<eos>"])
    src_array, src_valid_len = build_array_nmt(source, src_vocab, num_steps)
    tgt_array, tgt_valid_len = build_array_nmt(target, tgt_vocab, num_steps)
    dataset = data.TensorDataset(src_array, src_valid_len, tgt_array, tgt_valid_len)
    data_iter = data.DataLoader(dataset, batch_size, shuffle=True)

    class Seq2SeqEncoder(nn.Module):
        def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0):
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, embed_size)
            self.rnn = nn.GRU(embed_size, num_hiddens, num_layers, dropout=dropout)

        def forward(self, X, *args):
            X = self.embedding(X).permute(1, 0, 2)
            return self.rnn(X)

    class Seq2SeqDecoder(nn.Module):
        def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0):
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, embed_size)
            self.rnn = nn.GRU(embed_size + num_hiddens, num_hiddens, num_layers, dropout=dropout)
            self.dense = nn.Linear(num_hiddens, vocab_size)

        def init_state(self, enc_outputs, *args):
            return enc_outputs[1]

        def forward(self, X, state):
            X = self.embedding(X).permute(1, 0, 2)
            context = state[-1].repeat(X.shape[0], 1, 1)
            output, state = self.rnn(torch.cat((X, context), 2), state)
            return self.dense(output).permute(1, 0, 2), state

    class EncoderDecoder(nn.Module):
        def __init__(self, encoder, decoder):
            super().__init__()
            self.encoder, self.decoder = encoder, decoder

        def forward(self, enc_X, dec_X, *args):
            enc_outputs = self.encoder(enc_X, *args)
            return self.decoder(dec_X, self.decoder.init_state(enc_outputs, *args))

    def sequence_mask(X, valid_len, value=0):
        maxlen = X.size(1)
        mask = torch.arange((maxlen), dtype=torch.float32, device=X.device)[None, :] < valid_len[:, None]
        X[~mask] = value
        return X

    class MaskedSoftmaxCELoss(nn.CrossEntropyLoss):
        def forward(self, pred, label, valid_len):
            weights = sequence_mask(torch.ones_like(label), valid_len)
            self.reduction = "none"
            unweighted_loss = super().forward(pred.permute(0, 2, 1), label)
            return (unweighted_loss * weights).mean(dim=1)

    def grad_clipping(net, theta):
        params = [p for p in net.parameters() if p.requires_grad]
        norm = torch.sqrt(sum(torch.sum(p.grad**2) for p in params))
        if norm > theta:
            for param in params:
                param.grad[:] *= theta / norm

    embed_size, num_hiddens, num_layers, dropout, lr = 32, 32, 2, 0.1, 0.005
    encoder = Seq2SeqEncoder(len(src_vocab), embed_size, num_hiddens, num_layers, dropout)
    decoder = Seq2SeqDecoder(len(tgt_vocab), embed_size, num_hiddens, num_layers, dropout)
    net = EncoderDecoder(encoder, decoder)

    def xavier_init_weights(m):  # train_seq2seq from here on
        if type(m) is nn.Linear:
            nn.init.xavier_uniform_(m.weight)
        if type(m) is nn.GRU:
            for param in m._flat_weights_names:
                if "weight" in param:
                    nn.init.xavier_uniform_(m._parameters[param])

    net.apply(xavier_init_weights)
    net.to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    loss = MaskedSoftmaxCELoss()
    net.train()
    total_seconds, total_tokens, cpu_start = 0.0, 0, time.process_time()
    for _ in range(epochs):
        start = time.perf_counter()
        metric = [0.0, 0.0]  # sum of training loss, no. of tokens (the book's Accumulator)
        for batch in data_iter:
            optimizer.zero_grad()
            X, X_valid_len, Y, Y_valid_len = (x.to(device) for x in batch)
            bos = torch.tensor([tgt_vocab["<bos>"]] * Y.shape[0], device=device).reshape(-1, 1)
            dec_input = torch.cat([bos, Y[:, :-1]], 1)  # teacher forcing
            Y_hat, _ = net(X, dec_input, X_valid_len)
            l = loss(Y_hat, Y, Y_valid_len)  # noqa: E741  (the book's name)
            l.sum().backward()
            grad_clipping(net, 1)
            num_tokens = Y_valid_len.sum()
            optimizer.step()
            with torch.no_grad():
                metric[0] += float(l.sum())
                metric[1] += float(num_tokens)
        seconds = time.perf_counter() - start
        total_seconds, total_tokens = total_seconds + seconds, total_tokens + metric[1]
    return {
        "seconds": total_seconds,
        "cpu_seconds": time.process_time() - cpu_start,
        "rate": total_tokens / total_seconds,
        "last_epoch_rate": metric[1] / seconds,
        "loss": metric[0] / metric[1],
        "pairs": len(source),
    }


def zoo_seq2seq(epochs: int, device: str, num_examples: int = 601) -> dict:
    """``cli.py fit --config configs/rnn/seq2seq.yaml`` on the book's 601 pairs (what its loop reads) without
    validation, checkpoints or logs (the book's loop has none); its times, rates and final loss."""
    from cli import run
    from zoo.core.callbacks import EpochSummary

    args = ["fit", "--config", str(Path(__file__).resolve().parents[1] / "configs" / "rnn" / "seq2seq.yaml")]
    args += ["--trainer.max_epochs", str(epochs), "--data.num_examples", str(num_examples)]
    args += ["--trainer.limit_val_batches", "0", "--trainer.enable_checkpointing", "false", "--trainer.logger", "false"]
    args += ["--trainer.accelerator", "gpu" if device.startswith("cuda") else "cpu", "--trainer.devices", "1"]
    args += ["--trainer.default_root_dir", tempfile.mkdtemp()]  # its config.yaml goes there, not here
    start, cpu_start = time.perf_counter(), time.process_time()
    cli = run(args)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    summary = next(c for c in cli.trainer.callbacks if isinstance(c, EpochSummary))
    loss = float(cli.trainer.callback_metrics["train/loss"])
    return {
        "seconds": summary.train_seconds,
        "cpu_seconds": cpu,  # the whole command: parsing, data, model, training, the translations at the end
        "rate": summary.train_items / summary.train_seconds,
        "wall": wall,
        "loss": loss / cli.model.hparams.num_steps,  # the book's figure: per token / num_steps
        "pairs": len(cli.datamodule.train_set),
    }


def seq2seq_report(args, device: torch.device) -> None:
    results = {}
    if args.side in ("both", "book"):
        results["book"] = book_train_seq2seq(args.epochs, device)
    if args.side in ("both", "zoo"):
        results["zoo"] = zoo_seq2seq(args.epochs, args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    for side, r in results.items():
        last = f", last epoch {r['last_epoch_rate']:,.0f} tokens/s" if "last_epoch_rate" in r else ""
        wall = f", whole command {r['wall']:.1f} s" if "wall" in r else ""
        print(
            f"seq2seq {side:5s} {args.epochs} epochs on {r['pairs']} pairs: training {r['seconds']:.1f} s, "
            f"{r['rate']:,.0f} tokens/s{last}{wall}; CPU time {r['cpu_seconds']:.1f} s; final loss (book's "
            f"figure) {r['loss']:.4f}  ({name}, {torch.get_num_threads()} threads)"
        )
    if len(results) == 2:
        book, zoo_side = results["book"], results["zoo"]
        print(
            f"zoo / book: {book['seconds'] / zoo_side['seconds']:.2f}x faster (training time), "
            f"{book['cpu_seconds'] / zoo_side['cpu_seconds']:.2f}x (CPU time)"
        )


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
    parser.add_argument("network", choices=[*RECIPES, "gru", "seq2seq"])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--workers", type=int, default=4, help="book side's DataLoader workers (the book uses 4)")
    parser.add_argument("--side", choices=["both", "book", "zoo"], default="both")
    args = parser.parse_args()
    device = torch.device(args.device)
    if args.network == "seq2seq":
        return seq2seq_report(args, device)
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
