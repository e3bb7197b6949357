"""The convolutional networks of the companion PyTorch course (Liu Er, "PyTorch Deep Learning Practice",
lectures 10 "Basic CNN" and 11 "Advanced CNN"), on MNIST.

The course's recipe: inputs normalised with (0.1307, 0.3081) (``datamodules.MNIST(normalize=True)``),
cross-entropy, SGD with lr 0.01 and momentum 0.5, batch 64, 10 epochs, PyTorch's default
initialisation. Its fully connected networks are in :mod:`zoo.course.fully_connected`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..core.base import Classifier
from ..core.init import init_weights
from ..core.registry import Book, register_model

# --- blocks --------------------------------------------------------------------------------------


class InceptionA(nn.Module):
    """Four parallel branches concatenated on channels: 16 + 24 + 24 + 24 = 88 out of any `in_channels`.

    1x1 conv (16); 1x1 (16) -> 5x5 (24); 1x1 (16) -> 3x3 (24) -> 3x3 (24); 3x3 avg-pool -> 1x1 (24).
    Every branch keeps the height and width; there is no activation inside the block.
    """

    out_channels = 88

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.branch1x1 = nn.Conv2d(in_channels, 16, kernel_size=1)
        self.branch5x5 = nn.Sequential(
            nn.Conv2d(in_channels, 16, kernel_size=1), nn.Conv2d(16, 24, kernel_size=5, padding=2)
        )
        self.branch3x3 = nn.Sequential(
            nn.Conv2d(in_channels, 16, kernel_size=1),
            nn.Conv2d(16, 24, kernel_size=3, padding=1),
            nn.Conv2d(24, 24, kernel_size=3, padding=1),
        )
        self.branch_pool = nn.Sequential(
            nn.AvgPool2d(kernel_size=3, stride=1, padding=1), nn.Conv2d(in_channels, 24, kernel_size=1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = (self.branch1x1, self.branch5x5, self.branch3x3, self.branch_pool)
        return torch.cat([branch(x) for branch in branches], dim=1)


class ResidualBlock(nn.Module):
    """relu(x + conv3x3(relu(conv3x3(x)))), `channels` in and out, same height and width."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.conv1(x))
        y = self.conv2(y)
        return F.relu(x + y)


# --- networks (28x28 in; each stage is conv -> max-pool -> ReLU, as the course writes it) --------


def basic_cnn(num_classes: int = 10, in_channels: int = 1) -> nn.Sequential:
    """conv5(10) -> pool -> relu -> conv5(20) -> pool -> relu -> 320 -> num_classes."""
    return nn.Sequential(
        nn.Conv2d(in_channels, 10, kernel_size=5), nn.MaxPool2d(2), nn.ReLU(),
        nn.Conv2d(10, 20, kernel_size=5), nn.MaxPool2d(2), nn.ReLU(),
        nn.Flatten(),
        nn.Linear(320, num_classes),
    )  # fmt: skip


def inception_net(num_classes: int = 10, in_channels: int = 1) -> nn.Sequential:
    """conv5(10) -> pool -> relu -> InceptionA -> conv5(20) -> pool -> relu -> InceptionA -> 1408 -> classes."""
    return nn.Sequential(
        nn.Conv2d(in_channels, 10, kernel_size=5), nn.MaxPool2d(2), nn.ReLU(),
        InceptionA(10),
        nn.Conv2d(InceptionA.out_channels, 20, kernel_size=5), nn.MaxPool2d(2), nn.ReLU(),
        InceptionA(20),
        nn.Flatten(),
        nn.Linear(InceptionA.out_channels * 4 * 4, num_classes),
    )  # fmt: skip


def residual_net(num_classes: int = 10, in_channels: int = 1) -> nn.Sequential:
    """conv5(16) -> pool -> relu -> ResidualBlock -> conv5(32) -> pool -> relu -> ResidualBlock -> 512 -> classes."""
    return nn.Sequential(
        nn.Conv2d(in_channels, 16, kernel_size=5), nn.MaxPool2d(2), nn.ReLU(),
        ResidualBlock(16),
        nn.Conv2d(16, 32, kernel_size=5), nn.MaxPool2d(2), nn.ReLU(),
        ResidualBlock(32),
        nn.Flatten(),
        nn.Linear(32 * 4 * 4, num_classes),
    )  # fmt: skip


# --- LightningModules: the course's recipe as defaults -------------------------------------------


class _CourseNet(Classifier):
    """A course network: SGD lr 0.01, momentum 0.5, PyTorch's default initialisation.

    Args:
        num_classes: output classes.
        in_channels: input channels (on the command line: the data module's; 1 for MNIST).
        init: weight initialisation (:mod:`zoo.core.init`); the course keeps PyTorch's ``default``.
        lr, momentum: the course's SGD.
    """

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 1,
        init: str = "default",
        lr: float = 0.01,
        momentum: float = 0.5,
        **kwargs,
    ) -> None:
        super().__init__(num_classes=num_classes, lr=lr, momentum=momentum, **kwargs)
        self.net = init_weights(self.architecture(num_classes, in_channels), init)

    @staticmethod
    def architecture(num_classes: int, in_channels: int) -> nn.Module:
        raise NotImplementedError


class BasicCNN(_CourseNet):
    """The course's first CNN (lecture "Basic CNN"): two conv/pool stages and one linear layer."""

    architecture = staticmethod(basic_cnn)


class InceptionANet(_CourseNet):
    """The course's GoogLeNet-style net (lecture "Advanced CNN"): two conv stages, each followed by InceptionA."""

    architecture = staticmethod(inception_net)


class ResidualBlockNet(_CourseNet):
    """The course's residual net (lecture "Advanced CNN"): two conv stages, each followed by a ResidualBlock."""

    architecture = staticmethod(residual_net)


_COURSE = {"data": "MNIST", "input_shape": (1, 28, 28)}
register_model("course_cnn", BasicCNN, network="PyTorch course: basic CNN", book=Book(course="10 Basic CNN"),
               configs=["course/companion_cnn.yaml"], **_COURSE)  # fmt: skip
register_model("course_inception", InceptionANet, network="PyTorch course: InceptionA net",
               book=Book(course="11 Advanced CNN"), configs=["course/companion_inception.yaml"], **_COURSE)  # fmt: skip
register_model("course_residual", ResidualBlockNet, network="PyTorch course: ResidualBlock net",
               book=Book(course="11 Advanced CNN"), configs=["course/companion_residual.yaml"], **_COURSE)  # fmt: skip
