"""Data parallelism from scratch (book section "Training on Multiple GPUs"): a copy of the network on each device,
each minibatch split across them, gradients computed on each, summed by ``allreduce`` and sent back to every
copy, and the same SGD step taken everywhere, so the copies stay equal and the step is single-device SGD on the
whole minibatch.

The book's teaching version, clearly marked as scratch; its concise, production twin is Lightning's DDP
(``--config configs/trainer/ddp.yaml``, one process per device, gradients all-reduced by NCCL or gloo). The tests
run it on CPU "devices" and check it against plain SGD on the full batch.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import torch
from torch import nn


def allreduce(data: Sequence[torch.Tensor]) -> None:
    """Scratch: sum the tensors of `data` (one per device) into the first, then copy the sum back to all, in place."""
    for i in range(1, len(data)):
        data[0][:] += data[i].to(data[0].device)
    for i in range(1, len(data)):
        data[i][:] = data[0].to(data[i].device)


def split_batch(X: torch.Tensor, y: torch.Tensor, devices: Sequence[torch.device | str]) -> tuple[list, list]:
    """Scratch: the minibatch's examples in `len(devices)` contiguous shards, each moved to its device."""
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X has {X.shape[0]} examples but y has {y.shape[0]}")
    if X.shape[0] < len(devices):
        raise ValueError(f"cannot split {X.shape[0]} examples over {len(devices)} devices")
    X_shards, y_shards = torch.tensor_split(X, len(devices)), torch.tensor_split(y, len(devices))
    return [x.to(d) for x, d in zip(X_shards, devices)], [t.to(d) for t, d in zip(y_shards, devices)]


class DataParallelScratch:
    """Scratch: `network` copied onto each of `devices`, trained by the book's ``train_batch``.

    Args:
        network: the network to replicate (its current weights are every copy's start).
        devices: e.g. ``["cuda:0", "cuda:1"]``, or ``["cpu", "cpu"]`` to watch it work on one machine.
        loss: a per-example loss (``reduction="none"``), summed over each shard as the book does.
        lr: the SGD learning rate; each step is ``param -= lr * summed_grad / batch_size``, the book's ``sgd``.
    """

    def __init__(
        self,
        network: nn.Module,
        devices: Sequence[torch.device | str],
        loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
        lr: float = 0.1,
    ) -> None:
        if not devices:
            raise ValueError("give at least one device")
        self.devices = [torch.device(d) for d in devices]
        self.replicas = [copy.deepcopy(network).to(d) for d in self.devices]
        self.loss = loss or nn.CrossEntropyLoss(reduction="none")
        self.lr = lr

    def train_batch(self, X: torch.Tensor, y: torch.Tensor) -> float:
        """One step on the minibatch (X, y); returns the mean loss over it."""
        X_shards, y_shards = split_batch(X, y, self.devices)
        losses = [self.loss(net(x), t).sum() for net, x, t in zip(self.replicas, X_shards, y_shards)]
        for replica, shard_loss in zip(self.replicas, losses):  # backpropagation on each device
            replica.zero_grad(set_to_none=False)
            shard_loss.backward()
        with torch.no_grad():
            for params in zip(*(replica.parameters() for replica in self.replicas)):
                allreduce([p.grad for p in params])  # every copy now holds the whole minibatch's gradient
            for replica in self.replicas:  # the same update everywhere: the copies stay equal
                for p in replica.parameters():
                    p -= self.lr * p.grad / X.shape[0]
        return float(sum(loss.item() for loss in losses)) / X.shape[0]
