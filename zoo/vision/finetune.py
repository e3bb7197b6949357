"""Fine-tuning (book section "Fine-Tuning"): torchvision's ResNet-18 trained on ImageNet, its 1,000-class output
layer replaced by a new one for the target classes (the hot-dog set's two), the new layer learning ten times
faster than the copied ones.

The book compares it with the same network trained from scratch on the hot-dog images alone (random weights, one
learning rate of 5e-4 for every layer): ``configs/vision/hotdog_scratch.yaml``.
"""

from __future__ import annotations

import torchvision
from torch import nn

from ..core.base import Classifier
from ..core.checks import check_positive
from ..core.imagenet import Pretrained, load_matching
from ..core.registry import Book, register_model


def finetune_resnet18(num_classes: int) -> nn.Module:
    """torchvision's ResNet-18 with a new output layer ``fc`` for `num_classes`, Xavier-initialised as the book's."""
    net = torchvision.models.resnet18()
    net.fc = nn.Linear(net.fc.in_features, num_classes)
    nn.init.xavier_uniform_(net.fc.weight)
    return net


class FineTuneResNet(Pretrained, Classifier):
    """ResNet-18 with a new head, from ImageNet weights (``weights="imagenet"``) or from scratch (None).

    Args:
        num_classes: the target classes (on the command line: the data's; hot dogs: 2).
        weights: the start of every layer but the head: None (torchvision's random initialisation), ``"imagenet"``
            (``ResNet18_Weights.IMAGENET1K_V1`` through torch.hub) or a local copy of that file (hash-checked);
            loaded when training starts (see :mod:`zoo.core.imagenet`).
        head_lr_mult: the head's learning rate over the other layers' (the book: 10 when fine-tuning; 1, one
            learning rate for all, from scratch).
        lr, weight_decay: SGD's for the copied layers (the book: 5e-5 and 1e-3; from scratch: 5e-4).
        optimizer, momentum: see :class:`~zoo.core.base.ZooModule`.
    """

    pretrained_weights = "ResNet18_Weights.IMAGENET1K_V1"

    def __init__(
        self,
        num_classes: int = 2,
        weights: str | None = None,
        head_lr_mult: float = 10.0,
        lr: float = 5e-5,
        weight_decay: float = 1e-3,
        **kwargs,
    ) -> None:
        check_positive(head_lr_mult=head_lr_mult)
        super().__init__(num_classes=num_classes, lr=lr, weight_decay=weight_decay, **kwargs)
        self.init_pretrained()
        self.net = finetune_resnet18(num_classes)

    def load_pretrained_state(self, state: dict) -> None:
        """ImageNet weights for every layer but the new head."""
        load_matching(self.net, state, new=("fc.",))

    def parameter_groups(self) -> list:
        """The book's two groups: the copied layers at ``lr``, the new head at ``lr * head_lr_mult``."""
        head = list(self.net.fc.parameters())
        head_ids = {id(p) for p in head}
        base = [p for p in self.parameters() if id(p) not in head_ids]
        return [{"params": base}, {"params": head, "lr": self.hparams.lr * self.hparams.head_lr_mult}]


BOOK = Book(v1="14.2 Fine-Tuning", v017="13.2 Fine-Tuning")
register_model(
    "resnet18_finetune",
    FineTuneResNet,
    network="ResNet-18 fine-tuned from ImageNet (new 2-class head at 10x the learning rate)",
    book=BOOK,
    configs=["vision/hotdog_finetune.yaml"],
    data="Hotdog",
    input_shape=(3, 224, 224),
    kwargs={"weights": "imagenet", "head_lr_mult": 10.0, "lr": 5e-5},
)
register_model(
    "resnet18_hotdog_scratch",
    FineTuneResNet,
    network="ResNet-18 on the hot-dog images from scratch (the fine-tuning chapter's baseline)",
    book=BOOK,
    configs=["vision/hotdog_scratch.yaml"],
    data="Hotdog",
    input_shape=(3, 224, 224),
    kwargs={"weights": None, "head_lr_mult": 1.0, "lr": 5e-4},
)
