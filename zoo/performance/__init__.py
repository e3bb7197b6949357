"""Computational performance: data parallelism from scratch (the book's "Training on Multiple GPUs"). Its concise
twin is Lightning's DDP: ``configs/trainer/ddp.yaml`` with any network (``configs/performance/``)."""

from .multiple_gpus import DataParallelScratch, allreduce, split_batch

__all__ = ["DataParallelScratch", "allreduce", "split_batch"]
