"""Data parallelism from scratch, on CPU "devices": it is single-device SGD on the whole minibatch."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from zoo import LeNet
from zoo.performance import DataParallelScratch, allreduce, split_batch


def test_allreduce_sums_into_every_copy():
    data = [torch.ones((1, 2)) * (i + 1) for i in range(3)]
    allreduce(data)
    assert all(torch.equal(d, torch.full((1, 2), 6.0)) for d in data)


def test_split_batch_keeps_every_example_once_in_order():
    X, y = torch.arange(10.0).reshape(5, 2), torch.arange(5)
    X_shards, y_shards = split_batch(X, y, ["cpu", "cpu"])
    assert [len(s) for s in X_shards] == [3, 2] and torch.equal(torch.cat(y_shards), y)
    with pytest.raises(ValueError, match="cannot split"):
        split_batch(X[:1], y[:1], ["cpu", "cpu"])


@pytest.mark.parametrize("replicas", [2, 3])
def test_the_replicas_take_single_device_sgd_steps_on_the_whole_batch(replicas):
    torch.manual_seed(0)
    network = LeNet(init="xavier").net
    parallel = DataParallelScratch(network, ["cpu"] * replicas, lr=0.9)
    single = [p.detach().clone().requires_grad_() for p in network.parameters()]
    reference = LeNet().net
    for _ in range(3):
        X, y = torch.rand(12, 1, 28, 28), torch.randint(0, 10, (12,))
        parallel.train_batch(X, y)
        with torch.no_grad():  # plain SGD on the full batch: the mean loss's gradient
            for ref, p in zip(reference.parameters(), single):
                ref.copy_(p)
        loss = nn.functional.cross_entropy(reference(X), y)
        grads = torch.autograd.grad(loss, list(reference.parameters()))
        with torch.no_grad():
            for p, g in zip(single, grads):
                p -= 0.9 * g
    for replica in parallel.replicas:
        for got, want in zip(replica.parameters(), single):
            torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-5)
