"""The book's own data pipelines and training loops, transcribed for the benchmarks (not part of the zoo).

Each function is the book's code path for one recipe, as its notebooks run it: the same data pipeline (per-image
torchvision transforms in 4 DataLoader workers, ``TensorDataset`` loaders, per-epoch partitioning), the same loop
(its ``Accumulator``, which turns every step's loss into a Python float, its gradient clipping, its per-epoch
evaluation), minus the plotting (``Animator``/``ProgressBoard`` draw to a notebook; leaving them out only helps
the book's side). Every function returns the seconds from building the data pipeline to the last evaluation, the
items trained on and the figure the book prints.

- :func:`train_ch3` / :func:`train_ch6`: 0.17/2.0's softmax-regression and CNN loops on Fashion-MNIST
  (``load_data_fashion_mnist``, ``evaluate_accuracy``/``evaluate_accuracy_gpu``);
- :func:`course_loop`: the companion PyTorch course's MNIST loop (``ToTensor`` + ``Normalize`` in the main process,
  ``loss.item()`` every step, a test pass per epoch);
- :func:`train_ch8`: 0.17's language-model loop over ``seq_data_iter_sequential`` with ``RNNModel(nn.GRU)``;
- :func:`trainer_v1_lm`: 1.0's ``d2l.Trainer`` with its ``TimeMachine`` windows and concise ``RNNLM``/``GRU``;
- :func:`train_seq2seq`: 0.17's seq2seq section (``load_data_nmt``, ``Seq2SeqEncoder``/``Decoder``,
  ``MaskedSoftmaxCELoss``, ``train_seq2seq``).
"""

from __future__ import annotations

import collections
import gzip
import math
import random
import re
import shutil
import tempfile
import time
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils import data


def accuracy(y_hat: torch.Tensor, y: torch.Tensor) -> float:
    """The book's ``accuracy``: the number of correct predictions, as a Python float (a device sync)."""
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    return float((y_hat.type(y.dtype) == y).type(y.dtype).sum())


class Accumulator:
    """The book's ``Accumulator``: sums of `n` values, each added as a Python float."""

    def __init__(self, n: int) -> None:
        self.data = [0.0] * n

    def add(self, *args) -> None:
        self.data = [a + float(b) for a, b in zip(self.data, args)]

    def __getitem__(self, idx: int) -> float:
        return self.data[idx]


def idx_folder(data_cls, root: Path) -> Path:
    """The zoo's verified ``.gz`` idx files of `data_cls` (FashionMNIST or MNIST), unpacked where torchvision's
    class of the same name reads them (``root/<Name>/raw``); returns `root`."""
    data_module = data_cls()
    raw = root / data_cls.torchvision_class.__name__ / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for remote, path in zip(data_cls.remote_files(), data_module.fetch()):
        with gzip.open(path) as src, open(raw / remote.name[:-3], "wb") as dst:
            shutil.copyfileobj(src, dst)
    return root


def load_data_fashion_mnist(batch_size: int, resize: int | None = None, workers: int = 4):
    """The book's ``load_data_fashion_mnist``: torchvision's dataset, ``ToTensor`` (after ``Resize``) per image,
    4 workers (``get_dataloader_workers``), shuffled training loader."""
    import torchvision
    from torchvision import transforms

    from datamodules import FashionMNIST

    root = idx_folder(FashionMNIST, Path(tempfile.mkdtemp()))
    trans = [transforms.ToTensor()]
    if resize:
        trans.insert(0, transforms.Resize(resize))
    trans = transforms.Compose(trans)
    train = torchvision.datasets.FashionMNIST(str(root), train=True, transform=trans)
    test = torchvision.datasets.FashionMNIST(str(root), train=False, transform=trans)
    return (
        data.DataLoader(train, batch_size, shuffle=True, num_workers=workers),
        data.DataLoader(test, batch_size, shuffle=False, num_workers=workers),
    )


def evaluate_accuracy_gpu(net: nn.Module, data_iter, device: torch.device) -> float:
    net.eval()
    metric = Accumulator(2)
    with torch.no_grad():
        for X, y in data_iter:
            X, y = X.to(device), y.to(device)
            metric.add(accuracy(net(X), y), y.numel())
    return metric[0] / metric[1]


def train_ch3(net: nn.Module, epochs: int, lr: float, batch_size: int = 256, device: str = "cpu") -> dict:
    """0.17's concise softmax regression / MLP: N(0, 0.01) weights, ``CrossEntropyLoss(reduction='none')``,
    ``torch.optim.SGD``, ``train_epoch_ch3`` + ``evaluate_accuracy`` each epoch (the book runs it on the CPU)."""
    start = time.perf_counter()
    train_iter, test_iter = load_data_fashion_mnist(batch_size)

    def init_weights(m):
        if type(m) is nn.Linear:
            nn.init.normal_(m.weight, std=0.01)

    net.apply(init_weights).to(device)
    loss = nn.CrossEntropyLoss(reduction="none")
    updater = torch.optim.SGD(net.parameters(), lr=lr)
    for _ in range(epochs):
        net.train()
        metric = Accumulator(3)
        for X, y in train_iter:
            X, y = X.to(device), y.to(device)
            y_hat = net(X)
            l = loss(y_hat, y)  # noqa: E741  (the book's name)
            updater.zero_grad()
            l.mean().backward()
            updater.step()
            metric.add(float(l.sum()), accuracy(y_hat, y), y.numel())
        test_acc = evaluate_accuracy_gpu(net, test_iter, torch.device(device))
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "items": metric[2] * epochs, "metric": test_acc, "train_loss": metric[0] / metric[2]}


def init_weights_ch6(m: nn.Module) -> None:
    """``train_ch6``'s initialisation, applied to every module: Xavier-uniform weights for Linear and Conv2d."""
    if type(m) in (nn.Linear, nn.Conv2d):
        nn.init.xavier_uniform_(m.weight)


def train_ch6(net: nn.Module, epochs: int, lr: float, batch_size: int, resize: int | None, device: str) -> dict:
    """0.17/2.0's ``train_ch6``: Xavier-uniform weights, SGD, cross-entropy, the ``Accumulator`` every step and
    ``evaluate_accuracy_gpu`` on the test set every epoch."""
    device = torch.device(device)
    start = time.perf_counter()
    train_iter, test_iter = load_data_fashion_mnist(batch_size, resize)
    net.apply(init_weights_ch6).to(device)
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    loss = nn.CrossEntropyLoss()
    for _ in range(epochs):
        metric = Accumulator(3)
        net.train()
        for X, y in train_iter:
            optimizer.zero_grad()
            X, y = X.to(device), y.to(device)
            y_hat = net(X)
            l = loss(y_hat, y)  # noqa: E741
            l.backward()
            optimizer.step()
            with torch.no_grad():
                metric.add(l * X.shape[0], accuracy(y_hat, y), X.shape[0])
        test_acc = evaluate_accuracy_gpu(net, test_iter, device)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "items": metric[2] * epochs, "metric": test_acc, "train_loss": metric[0] / metric[2]}


def course_loop(net: nn.Module, epochs: int, device: str = "cpu") -> dict:
    """The companion course's MNIST loop: ``ToTensor`` + ``Normalize((0.1307,), (0.3081,))`` per image in the main
    process, batch 64, SGD lr 0.01 momentum 0.5, ``running_loss += loss.item()`` every step (printed every 300
    batches), then ``test()``: accuracy over the test set with ``.item()`` per batch. PyTorch's default init."""
    import torchvision
    from torchvision import transforms

    from datamodules import MNIST

    device = torch.device(device)
    start = time.perf_counter()
    root = idx_folder(MNIST, Path(tempfile.mkdtemp()))
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    train_loader = data.DataLoader(
        torchvision.datasets.MNIST(str(root), train=True, transform=transform), shuffle=True, batch_size=64
    )
    test_loader = data.DataLoader(
        torchvision.datasets.MNIST(str(root), train=False, transform=transform), shuffle=False, batch_size=64
    )
    net.to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.5)
    items = 0
    for _ in range(epochs):
        net.train()
        running_loss = 0.0
        for batch_idx, (inputs, target) in enumerate(train_loader):
            inputs, target = inputs.to(device), target.to(device)
            optimizer.zero_grad()
            loss = criterion(net(inputs), target)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
            items += len(target)
            if batch_idx % 300 == 299:
                running_loss = 0.0  # the course prints it here
        net.eval()
        correct = total = 0
        with torch.no_grad():
            for images, labels in test_loader:
                images, labels = images.to(device), labels.to(device)
                _, predicted = torch.max(net(images).data, dim=1)
                total += labels.size(0)
                correct += (predicted == labels).sum().item()
    return {"seconds": time.perf_counter() - start, "items": items, "metric": correct / total}


def time_machine_text() -> str:
    from datamodules.text.timemachine import bundled_time_machine

    return bundled_time_machine().read_text()


def train_ch8(epochs: int, device: str, num_hiddens: int = 256, lr: float = 1.0) -> dict:
    """0.17's concise GRU language model: ``load_data_time_machine(32, 35)`` (``read_time_machine``'s lines,
    characters, the first 10,000 tokens, ``seq_data_iter_sequential``), ``RNNModel(nn.GRU(28, 256))``,
    ``train_ch8`` (SGD, ``grad_clipping`` at 1, the ``Accumulator`` every step, ``predict_ch8`` every 10 epochs).
    Returns the last epoch's training perplexity, the book's figure."""
    device = torch.device(device)
    start = time.perf_counter()
    lines = [re.sub("[^A-Za-z]+", " ", line).strip().lower() for line in time_machine_text().splitlines()]
    tokens = [list(line) for line in lines]
    counter = collections.Counter(token for line in tokens for token in line)
    idx_to_token = ["<unk>"] + [t for t, _ in sorted(counter.items(), key=lambda x: x[1], reverse=True)]
    token_to_idx = {t: i for i, t in enumerate(idx_to_token)}
    corpus = [token_to_idx[t] for line in tokens for t in line][:10000]
    batch_size, num_steps, vocab_size = 32, 35, len(idx_to_token)

    def seq_data_iter_sequential():
        offset = random.randint(0, num_steps)
        num_tokens = ((len(corpus) - offset - 1) // batch_size) * batch_size
        Xs = torch.tensor(corpus[offset : offset + num_tokens]).reshape(batch_size, -1)
        Ys = torch.tensor(corpus[offset + 1 : offset + 1 + num_tokens]).reshape(batch_size, -1)
        for i in range(0, Xs.shape[1] // num_steps * num_steps, num_steps):
            yield Xs[:, i : i + num_steps], Ys[:, i : i + num_steps]

    class RNNModel(nn.Module):
        def __init__(self, rnn_layer: nn.GRU, vocab_size: int) -> None:
            super().__init__()
            self.rnn, self.vocab_size, self.num_hiddens = rnn_layer, vocab_size, rnn_layer.hidden_size
            self.linear = nn.Linear(self.num_hiddens, vocab_size)

        def forward(self, inputs, state):
            X = F.one_hot(inputs.T.long(), self.vocab_size).to(torch.float32)
            Y, state = self.rnn(X, state)
            return self.linear(Y.reshape((-1, Y.shape[-1]))), state

        def begin_state(self, batch_size: int):
            return torch.zeros((self.rnn.num_layers, batch_size, self.num_hiddens), device=device)

    net = RNNModel(nn.GRU(vocab_size, num_hiddens), vocab_size).to(device)
    loss, updater = nn.CrossEntropyLoss(), torch.optim.SGD(net.parameters(), lr)

    def predict(prefix: str, num_preds: int = 50) -> str:
        state, outputs = net.begin_state(1), [token_to_idx[prefix[0]]]
        for y in prefix[1:]:
            _, state = net(torch.tensor([outputs[-1]], device=device).reshape(1, 1), state)
            outputs.append(token_to_idx[y])
        for _ in range(num_preds):
            y, state = net(torch.tensor([outputs[-1]], device=device).reshape(1, 1), state)
            outputs.append(int(y.argmax(dim=1).reshape(1)))
        return "".join(idx_to_token[i] for i in outputs)

    def grad_clipping(theta: float) -> None:
        params = [p for p in net.parameters() if p.requires_grad]
        norm = torch.sqrt(sum(torch.sum(p.grad**2) for p in params))
        if norm > theta:
            for param in params:
                param.grad[:] *= theta / norm

    items = 0
    for epoch in range(epochs):
        state, metric = None, Accumulator(2)
        for X, Y in seq_data_iter_sequential():
            state = net.begin_state(X.shape[0]) if state is None else state.detach_()
            y = Y.T.reshape(-1)
            X, y = X.to(device), y.to(device)
            y_hat, state = net(X, state)
            l = loss(y_hat, y.long()).mean()  # noqa: E741
            updater.zero_grad()
            l.backward()
            grad_clipping(1)
            updater.step()
            metric.add(l * y.numel(), y.numel())
        items += metric[1]
        if (epoch + 1) % 10 == 0:
            predict("time traveller")
    ppl = math.exp(metric[0] / metric[1])
    predict("time traveller"), predict("traveller")
    return {"seconds": time.perf_counter() - start, "items": items, "metric": ppl}


def trainer_v1_lm(epochs: int, device: str) -> dict:
    """1.0's GRU language model: ``d2l.TimeMachine(batch_size=1024, num_steps=32)`` (every 32-character window of
    the cleaned text as an example, the first 10,000 for training and the next 5,000 for validation, served by
    ``TensorDataset`` loaders), ``RNNLM(GRU(28, 32), lr=4)``, ``d2l.Trainer(max_epochs=50, gradient_clip_val=1)``
    (its ``clip_gradients``, the perplexity plotted every step, i.e. copied to the CPU). Returns the last epoch's
    validation perplexity (the mean of its batches' perplexities, as the book's board averages them)."""
    device = torch.device(device)
    start = time.perf_counter()
    text = re.sub("[^A-Za-z]+", " ", time_machine_text()).lower()
    tokens = list(text)
    idx_to_token = sorted(set(["<unk>", *tokens]))
    token_to_idx = {t: i for i, t in enumerate(idx_to_token)}
    corpus = [token_to_idx[t] for t in tokens]
    num_steps, batch_size, num_train, num_val = 32, 1024, 10000, 5000
    array = torch.tensor([corpus[i : i + num_steps + 1] for i in range(len(corpus) - num_steps)])
    X, Y = array[:, :-1], array[:, 1:]

    def loader(train: bool, indices: slice):
        return data.DataLoader(data.TensorDataset(X[indices], Y[indices]), batch_size, shuffle=train)

    train_iter, val_iter = loader(True, slice(0, num_train)), loader(False, slice(num_train, num_train + num_val))
    vocab_size, num_hiddens = len(idx_to_token), 32
    rnn, linear = nn.GRU(vocab_size, num_hiddens).to(device), nn.Linear(num_hiddens, vocab_size).to(device)
    params = [*rnn.parameters(), *linear.parameters()]
    optim = torch.optim.SGD(params, lr=4)

    def forward(X):
        outputs, _ = rnn(F.one_hot(X.T, vocab_size).type(torch.float32))
        return linear(outputs).swapaxes(0, 1)

    def lm_loss(X, Y):
        Y_hat = forward(X)
        return F.cross_entropy(Y_hat.reshape(-1, Y_hat.shape[-1]), Y.reshape(-1))

    items = 0
    for _ in range(epochs):
        rnn.train(), linear.train()
        for Xb, Yb in train_iter:
            Xb, Yb = Xb.to(device), Yb.to(device)
            loss = lm_loss(Xb, Yb)
            float(torch.exp(loss).to("cpu"))  # self.plot('ppl', d2l.exp(l), train=True)
            optim.zero_grad()
            with torch.no_grad():
                loss.backward()
                norm = torch.sqrt(sum(torch.sum(p.grad**2) for p in params))
                if norm > 1:
                    for p in params:
                        p.grad[:] *= 1 / norm
                optim.step()
            items += Yb.numel()
        rnn.eval(), linear.eval()
        ppls = []
        for Xb, Yb in val_iter:
            with torch.no_grad():
                ppls.append(float(torch.exp(lm_loss(Xb.to(device), Yb.to(device))).to("cpu")))
    return {"seconds": time.perf_counter() - start, "items": items, "metric": sum(ppls) / len(ppls)}


def train_seq2seq(epochs: int, device: str, num_examples: int = 600) -> dict:
    """0.17's seq2seq section: ``load_data_nmt(64, 10, 600)`` (``preprocess_nmt``, ``tokenize_nmt``, ``Vocab`` with
    min_freq 2, ``build_array_nmt``, a ``TensorDataset`` loader), the GRU ``Seq2SeqEncoder``/``Seq2SeqDecoder``
    (embed 32, hidden 32, 2 layers, dropout 0.1), ``train_seq2seq`` (Xavier init, Adam lr 0.005,
    ``MaskedSoftmaxCELoss``, ``grad_clipping`` at 1, loss and token sums as floats every step) and the four
    translations. Its ``tokenize_nmt`` reads lines 0..num_examples, so 600 gives 601 pairs. Returns the last
    epoch's loss as the book prints it (per token, divided by num_steps: the loss averages over every position)."""
    from datamodules import Translation

    device = torch.device(device)
    start = time.perf_counter()
    raw_text = Translation(download=False).text_path().read_text(encoding="utf-8")

    def preprocess_nmt(text: str) -> str:
        def no_space(char, prev_char):
            return char in set(",.!?") and prev_char != " "

        text = text.replace("\u202f", " ").replace("\xa0", " ").lower()
        return "".join(" " + c if i > 0 and no_space(c, text[i - 1]) else c for i, c in enumerate(text))

    def tokenize_nmt(text: str, num_examples: int):
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
            counts = collections.Counter(token for line in tokens for token in line)
            self.idx_to_token = ["<unk>", *(reserved_tokens or [])]
            self.token_to_idx = {token: idx for idx, token in enumerate(self.idx_to_token)}
            for token, freq in sorted(counts.items(), key=lambda x: x[1], reverse=True):
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
            return [self[token] for token in tokens]

    def truncate_pad(line, num_steps, padding_token):
        return line[:num_steps] if len(line) > num_steps else line + [padding_token] * (num_steps - len(line))

    def build_array_nmt(lines, vocab, num_steps):
        lines = [vocab[line] + [vocab["<eos>"]] for line in lines]
        array = torch.tensor([truncate_pad(line, num_steps, vocab["<pad>"]) for line in lines])
        return array, (array != vocab["<pad>"]).type(torch.int32).sum(1)

    batch_size, num_steps = 64, 10
    source, target = tokenize_nmt(preprocess_nmt(raw_text), num_examples)
    src_vocab = Vocab(source, min_freq=2, reserved_tokens=["<pad>", "<bos>", "<eos>"])
    tgt_vocab = Vocab(target, min_freq=2, reserved_tokens=["<pad>", "<bos>", "<eos>"])
    src_array, src_valid_len = build_array_nmt(source, src_vocab, num_steps)
    tgt_array, tgt_valid_len = build_array_nmt(target, tgt_vocab, num_steps)
    data_iter = data.DataLoader(
        data.TensorDataset(src_array, src_valid_len, tgt_array, tgt_valid_len), batch_size, shuffle=True
    )

    class Seq2SeqEncoder(nn.Module):
        def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0):
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, embed_size)
            self.rnn = nn.GRU(embed_size, num_hiddens, num_layers, dropout=dropout)

        def forward(self, X, *args):
            return self.rnn(self.embedding(X).permute(1, 0, 2))

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
            return self.decoder(dec_X, self.decoder.init_state(self.encoder(enc_X, *args), *args))

    def sequence_mask(X, valid_len, value=0):
        mask = torch.arange(X.size(1), dtype=torch.float32, device=X.device)[None, :] < valid_len[:, None]
        X[~mask] = value
        return X

    class MaskedSoftmaxCELoss(nn.CrossEntropyLoss):
        def forward(self, pred, label, valid_len):
            weights = sequence_mask(torch.ones_like(label), valid_len)
            self.reduction = "none"
            return (super().forward(pred.permute(0, 2, 1), label) * weights).mean(dim=1)

    def grad_clipping(net, theta):
        params = [p for p in net.parameters() if p.requires_grad]
        norm = torch.sqrt(sum(torch.sum(p.grad**2) for p in params))
        if norm > theta:
            for param in params:
                param.grad[:] *= theta / norm

    net = EncoderDecoder(Seq2SeqEncoder(len(src_vocab), 32, 32, 2, 0.1), Seq2SeqDecoder(len(tgt_vocab), 32, 32, 2, 0.1))

    def xavier_init_weights(m):
        if type(m) is nn.Linear:
            nn.init.xavier_uniform_(m.weight)
        if type(m) is nn.GRU:
            for param in m._flat_weights_names:
                if "weight" in param:
                    nn.init.xavier_uniform_(m._parameters[param])

    net.apply(xavier_init_weights).to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=0.005)
    loss = MaskedSoftmaxCELoss()
    net.train()
    items = 0
    for _ in range(epochs):
        metric = Accumulator(2)  # sum of training loss, no. of tokens
        for batch in data_iter:
            optimizer.zero_grad()
            X, X_valid_len, Y, Y_valid_len = (x.to(device) for x in batch)
            bos = torch.tensor([tgt_vocab["<bos>"]] * Y.shape[0], device=device).reshape(-1, 1)
            Y_hat, _ = net(X, torch.cat([bos, Y[:, :-1]], 1), X_valid_len)  # teacher forcing
            l = loss(Y_hat, Y, Y_valid_len)  # noqa: E741
            l.sum().backward()
            grad_clipping(net, 1)
            num_tokens = Y_valid_len.sum()
            optimizer.step()
            with torch.no_grad():
                metric.add(l.sum(), num_tokens)
        items += metric[1]

    def predict_seq2seq(src_sentence: str) -> str:
        net.eval()
        src_tokens = src_vocab[src_sentence.lower().split(" ")] + [src_vocab["<eos>"]]
        enc_valid_len = torch.tensor([len(src_tokens)], device=device)
        enc_X = torch.tensor(truncate_pad(src_tokens, num_steps, src_vocab["<pad>"]), device=device).unsqueeze(0)
        dec_state = net.decoder.init_state(net.encoder(enc_X, enc_valid_len), enc_valid_len)
        dec_X, output_seq = torch.tensor([tgt_vocab["<bos>"]], device=device).unsqueeze(0), []
        for _ in range(num_steps):
            Y, dec_state = net.decoder(dec_X, dec_state)
            dec_X = Y.argmax(dim=2)
            pred = dec_X.squeeze(dim=0).type(torch.int32).item()
            if pred == tgt_vocab["<eos>"]:
                break
            output_seq.append(pred)
        return " ".join(tgt_vocab.idx_to_token[i] for i in output_seq)

    for sentence in ["go .", "i lost .", "he's calm .", "i'm home ."]:
        predict_seq2seq(sentence)
    return {"seconds": time.perf_counter() - start, "items": items, "metric": metric[0] / metric[1]}
