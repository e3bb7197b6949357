"""The fully connected networks of the companion PyTorch course (Liu Er, "PyTorch Deep Learning Practice"):
its logistic (softmax) regression and its five-layer classifier on MNIST (lecture 9, "Softmax Classifier").

Both are networks of the book as well, so they are the book's classes with the course's recipe
(inputs normalised with (0.1307, 0.3081), SGD lr 0.01 momentum 0.5, batch 64, 10 epochs):
:class:`zoo.SoftmaxRegression` (weights N(0, 0.01)) and :class:`zoo.MLP` with hidden layers 512-256-128-64
and PyTorch's default initialisation (``configs/course/companion_logistic.yaml``, ``configs/course/companion_fc.yaml``).
"""

from __future__ import annotations

from ..core.registry import Book, register_model
from ..linear.softmax import SoftmaxRegression
from ..mlp.mlp import MLP

COURSE_SGD = {"lr": 0.01, "momentum": 0.5}
register_model(
    "course_logistic",
    SoftmaxRegression,
    network="PyTorch course: logistic (softmax) regression",
    book=Book(course="9 Softmax Classifier (logistic regression on MNIST)"),
    configs=["course/companion_logistic.yaml"],
    data="MNIST",
    input_shape=(1, 28, 28),
    kwargs=COURSE_SGD,
)
register_model(
    "course_fc",
    MLP,
    network="PyTorch course: 5-layer FC net 784-512-256-128-64-10",
    book=Book(course="9 Softmax Classifier"),
    configs=["course/companion_fc.yaml"],
    data="MNIST",
    input_shape=(1, 28, 28),
    kwargs={"num_hiddens": [512, 256, 128, 64], "init": "default", **COURSE_SGD},
    variants={"impl": ("scratch", "concise")},
)
