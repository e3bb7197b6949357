"""Neural style transfer (book section "Neural Style Transfer"): an image is optimised until its VGG-19 features
match a content image's in one deep layer and its Gram matrices match a style image's in five layers, with a total
variation penalty against noise.

The network's only parameter is the synthesised image (1, 3, H, W), in ImageNet-standardised units, started as the
content image; the VGG-19 features (torchvision's ImageNet weights with ``weights="imagenet"``) are frozen. The
book's recipe: style layers 0, 5, 10, 19, 28 (the first convolution of each block), content layer 25 (the last
convolution of block 4), Adam at lr 0.3 decayed by 0.8 every 50 steps, 500 steps, 300x450 images.

The book's layers are torchvision's with their in-place ReLUs: a feature recorded at a convolution is rectified
by the ReLU that follows it before the loss sees it (all but layer 28, the last one kept). :meth:`StyleTransfer.
forward` records the same values without relying on in-place updates: after the ReLU where one follows.

Loss weights: content 1, style 1e4, total variation 10. The 0.17 edition writes ``style_weight = 1e3`` but sums
``10 * styles_l + contents_l + [tv_l]``, a list repeated ten times, so its total weighs the style loss by 1e4 as
well; the 1.0 edition writes 1e4. The logged ``train/style`` is the style loss times ``style_weight`` (1.0's
plotted curve; 0.17's plots it times 1e3, a tenth of it).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..core.base import ZooModule
from ..core.checks import check_positive
from ..core.imagenet import Pretrained, load_matching
from ..core.registry import Book, register_model

# VGG-19's convolutional part ("E"): channels of the 3x3 convolutions, "M" a 2x2 max-pool
VGG19_LAYOUT = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"]
# the standardisation torchvision's ImageNet weights expect (the book's rgb_mean and rgb_std)
RGB_MEAN, RGB_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)

# --- the losses ----------------------------------------------------------------------------------------------


def gram(X: torch.Tensor) -> torch.Tensor:
    """The book's Gram matrix of features X (N, c, h, w): per image the (c, c) inner products of its channels,
    divided by c * h * w; (N, c, c) (the book's single image: N = 1)."""
    n, c = X.shape[0], X.shape[1]
    features = X.reshape(n, c, -1)
    return features @ features.transpose(1, 2) / (c * features.shape[-1])


def content_loss(Y_hat: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    """Mean squared difference between the synthesised image's content features and the content image's."""
    return torch.square(Y_hat - Y.detach()).mean()


def style_loss(Y_hat: torch.Tensor, gram_Y: torch.Tensor) -> torch.Tensor:
    """Mean squared difference between the Gram matrix of the synthesised image's features and the style's."""
    return torch.square(gram(Y_hat) - gram_Y.detach()).mean()


def tv_loss(Y_hat: torch.Tensor) -> torch.Tensor:
    """Total variation: half the mean absolute difference between vertical neighbours plus that of horizontal ones."""
    return 0.5 * (
        torch.abs(Y_hat[:, :, 1:, :] - Y_hat[:, :, :-1, :]).mean()
        + torch.abs(Y_hat[:, :, :, 1:] - Y_hat[:, :, :, :-1]).mean()
    )


# --- the network --------------------------------------------------------------------------------------------------


def vgg19_features(num_layers: int) -> nn.Sequential:
    """The first `num_layers` layers of VGG-19's ``features`` (3x3 convolutions with ReLUs, max-pools), numbered
    as torchvision numbers them, so its weights load by name; initialised as torchvision's ``vgg19()`` (He-normal
    weights, zero biases), so even random features stay alive through the depth."""
    layers, channels = [], 3
    for v in VGG19_LAYOUT:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            conv = nn.Conv2d(channels, v, kernel_size=3, padding=1)
            nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(conv.bias)
            layers += [conv, nn.ReLU()]
            channels = v
    return nn.Sequential(*layers[:num_layers])


def _standardize(x: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(RGB_MEAN, device=x.device, dtype=x.dtype).reshape(1, 3, 1, 1)
    std = torch.tensor(RGB_STD, device=x.device, dtype=x.dtype).reshape(1, 3, 1, 1)
    return (x - mean) / std


def postprocess(X: torch.Tensor) -> torch.Tensor:
    """The book's ``postprocess``: a standardised image (1, 3, H, W) back to RGB (3, H, W) uint8, clamped."""
    mean = torch.tensor(RGB_MEAN, device=X.device).reshape(3, 1, 1)
    std = torch.tensor(RGB_STD, device=X.device).reshape(3, 1, 1)
    return (X[0].detach().float() * std + mean).clamp(0, 1).mul(255).round().to(torch.uint8).cpu()


class StyleTransfer(Pretrained, ZooModule):
    """The synthesised image as the only parameter, VGG-19's features as the frozen measure.

    Args:
        image_shape: ``[height, width]`` of the synthesised image (on the command line: the data's; the book:
            [300, 450]).
        weights: VGG-19's: None (random: a test of the machinery, no style), ``"imagenet"`` (the book:
            ``VGG19_Weights.IMAGENET1K_V1`` through torch.hub) or a local copy of that file (hash-checked); loaded
            when training starts (see :mod:`zoo.core.imagenet`).
        content_layers, style_layers: the indices of VGG-19's ``features`` layers compared (the book: [25] and
            [0, 5, 10, 19, 28]); the network keeps the layers up to the deepest.
        content_weight, style_weight, tv_weight: the loss weights (the book: 1, 1e4, 10; see the module notes).
        lr: Adam's (the book: 0.3).
        lr_decay_steps, lr_decay: StepLR's step size and factor, per optimisation step (the book: 50, 0.8).
        snapshot_every: also write the image every this many steps (``snapshots/step_N.png``); 0: only the result.
        optimizer, weight_decay, momentum: see :class:`~zoo.core.base.ZooModule`.

    ``forward(X)`` returns the book's ``extract_features``: the content features and the style features of X.
    Training writes the result, ``style_transfer.png``, to the run folder when it ends; ``predict`` writes it too.
    """

    pretrained_weights = "VGG19_Weights.IMAGENET1K_V1"

    def __init__(
        self,
        image_shape: list[int] = [300, 450],  # noqa: B006  (plain lists, saved as hyperparameters)
        weights: str | None = None,
        content_layers: list[int] = [25],  # noqa: B006
        style_layers: list[int] = [0, 5, 10, 19, 28],  # noqa: B006
        content_weight: float = 1.0,
        style_weight: float = 1e4,
        tv_weight: float = 10.0,
        lr: float = 0.3,
        optimizer: str = "adam",
        lr_decay_steps: int = 50,
        lr_decay: float = 0.8,
        snapshot_every: int = 0,
        **kwargs,
    ) -> None:
        if len(image_shape) != 2 or min(image_shape) < 1:
            raise ValueError(f"image_shape must be [height, width] of positive ints, got {image_shape}")
        depth = sum(2 if v != "M" else 1 for v in VGG19_LAYOUT)
        for name, layers in (("content_layers", content_layers), ("style_layers", style_layers)):
            if not layers or any(not 0 <= i < depth for i in layers):
                raise ValueError(
                    f"{name} must be indices of VGG-19's {depth} feature layers (0 to {depth - 1}), got {layers}"
                )
        for name, value in (
            ("content_weight", content_weight),
            ("style_weight", style_weight),
            ("tv_weight", tv_weight),
        ):
            if value < 0:
                raise ValueError(f"{name} must not be negative, got {value}")
        check_positive(lr_decay_steps=lr_decay_steps, lr_decay=lr_decay)
        if snapshot_every < 0:
            raise ValueError(f"snapshot_every must not be negative, got {snapshot_every}")
        super().__init__(lr=lr, optimizer=optimizer, **kwargs)
        self.init_pretrained()
        self.features = vgg19_features(max(content_layers + style_layers) + 1)
        self.features.requires_grad_(False)
        # where the book's in-place ReLU leaves layer k's output: at k + 1 when a ReLU follows inside the network
        follows = {
            k: k + 1 < len(self.features) and isinstance(self.features[k + 1], nn.ReLU)
            for k in range(len(self.features))
        }
        self._content_at = [k + 1 if follows[k] else k for k in content_layers]
        self._style_at = [k + 1 if follows[k] else k for k in style_layers]
        self.synthesized = nn.Parameter(torch.rand(1, 3, *image_shape))
        self.register_buffer("started", torch.tensor(False))  # the image was set to the content image
        self._targets: tuple[list[torch.Tensor], list[torch.Tensor]] | None = None

    def load_pretrained_state(self, state: dict) -> None:
        """ImageNet weights for the kept VGG-19 layers."""
        load_matching(self.features, state, prefix="features.")

    def forward(self, X: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """The book's ``extract_features``: X's features at the content layers and at the style layers."""
        recorded = {}
        wanted = set(self._content_at) | set(self._style_at)
        for i, layer in enumerate(self.features):
            X = layer(X)
            if i in wanted:
                recorded[i] = X
        return [recorded[i] for i in self._content_at], [recorded[i] for i in self._style_at]

    # --- training ----------------------------------------------------------------------------------------------

    def parameter_groups(self) -> list:
        return [self.synthesized]  # the VGG-19 features stay as they are

    def configure_optimizers(self):
        optimizer = super().configure_optimizers()
        if isinstance(optimizer, dict):  # a schedule the base was asked for: that one, not the book's
            return optimizer
        hp = self.hparams
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=hp.lr_decay_steps, gamma=hp.lr_decay)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def targets(self, content: torch.Tensor, style: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """The content image's content features and the style image's Gram matrices (computed once a fit)."""
        if self._targets is None:
            with torch.no_grad():
                contents_Y, _ = self(_standardize(content))
                _, styles_Y = self(_standardize(style))
            self._targets = ([Y.detach() for Y in contents_Y], [gram(Y).detach() for Y in styles_Y])
        return self._targets

    def losses(self, X: torch.Tensor, contents_Y: list[torch.Tensor], styles_Y_gram: list[torch.Tensor]):
        """The book's ``compute_loss``: the weighted content, style and TV losses of image X and their sum."""
        hp = self.hparams
        contents_Y_hat, styles_Y_hat = self(X)
        content = sum(content_loss(Y_hat, Y) for Y_hat, Y in zip(contents_Y_hat, contents_Y)) * hp.content_weight
        style = sum(style_loss(Y_hat, Y) for Y_hat, Y in zip(styles_Y_hat, styles_Y_gram)) * hp.style_weight
        tv = tv_loss(X) * hp.tv_weight
        return content, style, tv, content + style + tv

    def on_fit_start(self) -> None:
        super().on_fit_start()
        self._targets = None

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        content, style = batch
        if list(content.shape[-2:]) != list(self.synthesized.shape[-2:]):
            raise ValueError(
                f"the images are {list(content.shape[-2:])}, but the model synthesises "
                f"{list(self.synthesized.shape[-2:])}: build it for the data's image_shape"
            )
        contents_Y, styles_Y_gram = self.targets(content, style)
        if not bool(self.started):  # the book starts from the content image
            with torch.no_grad():
                self.synthesized.copy_(_standardize(content))
            self.started.fill_(True)
        content_l, style_l, tv_l, loss = self.losses(self.synthesized, contents_Y, styles_Y_gram)
        for name, value in (("loss", loss), ("content", content_l), ("style", style_l), ("tv", tv_l)):
            self.log_mean(f"train/{name}", value, prog_bar=name == "loss")
        self._last = (content_l.detach(), style_l.detach(), tv_l.detach())
        return loss

    def on_train_batch_end(self, outputs, batch, batch_idx: int) -> None:
        every = self.hparams.snapshot_every
        if every and self.global_step % every == 0 and self._trainer.is_global_zero:
            self.save_image(self.run_folder() / "snapshots" / f"step_{self.global_step:04d}.png")

    def run_folder(self) -> Path:
        trainer = self._trainer
        return Path(trainer.log_dir or trainer.default_root_dir) if trainer is not None else Path(".")

    def save_image(self, path: Path) -> Path:
        """Write the synthesised image as it is now, as an RGB PNG."""
        from torchvision.io import write_png

        path.parent.mkdir(parents=True, exist_ok=True)
        write_png(postprocess(self.synthesized), str(path))
        return path

    def on_fit_end(self) -> None:
        if self._trainer is not None and not self._trainer.is_global_zero:
            return
        path = self.save_image(self.run_folder() / "style_transfer.png")
        if getattr(self, "_last", None) is not None:
            content, style, tv = (float(v) for v in self._last)
            print(f"last step: content loss {content:.4f}, style loss {style:.4f}, TV loss {tv:.4f}")
        print(f"wrote {path}")

    # --- predictions --------------------------------------------------------------------------------------

    def predict_step(self, batch, batch_idx: int) -> torch.Tensor:
        return postprocess(self.synthesized)

    def write_predictions(self, outputs: list, out_dir: Path, datamodule=None) -> list[Path]:
        """``style_transfer.png``: the synthesised image."""
        from torchvision.io import write_png

        path = out_dir / "style_transfer.png"
        write_png(outputs[0], str(path))
        return [path]


register_model(
    "style_transfer",
    StyleTransfer,
    network="Neural style transfer (VGG-19 features; the synthesised image is the parameter)",
    book=Book(v1="14.12 Neural Style Transfer", v017="13.12 Neural Style Transfer"),
    configs=["vision/style_transfer.yaml"],
    data="StyleImages",
    input_shape=(3, 300, 450),
    kwargs={"weights": "imagenet"},
)
