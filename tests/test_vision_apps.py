"""The vision applications' networks: transposed convolution and the bilinear kernel against the book and torch,
the FCN and the segmentation base (shapes, ignored border, metrics, predicted masks), fine-tuning's parameter
groups and the checked loading of ImageNet weights, style transfer's losses and training, the CIFAR ResNet."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
import torchvision
from conftest import config, learnable_images, training_losses, write_style_images
from torch import nn
from torchvision.io import read_image

import zoo.core.imagenet as imagenet
from cli import run
from datamodules.images.augment import normalize
from datamodules.images.voc import label_colors
from zoo import FCN, FineTuneResNet, ResNet, Segmenter, StyleTransfer
from zoo.core.imagenet import WeightsError, load_matching, pretrained_state_dict
from zoo.vision.fcn import bilinear_kernel, trans_conv
from zoo.vision.style_transfer import content_loss, gram, style_loss, tv_loss, vgg19_features

# --- transposed convolution ------------------------------------------------------------------------------


def test_trans_conv_gives_the_books_printed_output_and_equals_conv_transpose2d():
    X = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    K = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    assert trans_conv(X, K).tolist() == [[0, 0, 1], [0, 4, 6], [4, 12, 9]]
    X, K = torch.rand(4, 5), torch.rand(3, 2)
    expected = F.conv_transpose2d(X.reshape(1, 1, 4, 5), K.reshape(1, 1, 3, 2))[0, 0]
    torch.testing.assert_close(trans_conv(X, K), expected)


def test_the_bilinear_kernel_upsamples_as_bilinear_interpolation():
    assert bilinear_kernel(1, 1, 4)[0, 0, 0].tolist() == [0.0625, 0.1875, 0.1875, 0.0625]  # (1 - |i - 1.5| / 2) ...
    weight = bilinear_kernel(3, 3, 4)
    assert (weight[0, 1] == 0).all() and (weight[1, 1] == weight[0, 0]).all()  # channel to itself only
    X = torch.rand(1, 3, 6, 7)
    for stride in (2, 32):  # the book's 2x example and the FCN's kernel 64, padding 16, stride 32
        Y = F.conv_transpose2d(X, bilinear_kernel(3, 3, 2 * stride), stride=stride, padding=stride // 2)
        Z = F.interpolate(X, scale_factor=stride, mode="bilinear", align_corners=False)
        assert Y.shape == Z.shape == (1, 3, 6 * stride, 7 * stride)
        inner = (..., slice(stride // 2, -(stride // 2)), slice(stride // 2, -(stride // 2)))
        torch.testing.assert_close(Y[inner], Z[inner])  # equal but at the edges, where the transposed one sees zeros


# --- the FCN and the segmentation base ---------------------------------------------------------------------


def test_fcn_is_resnet18_without_its_last_two_layers_then_1x1_and_bilinear_transposed_conv():
    model = FCN()
    names = [name for name, _ in model.net.named_children()]
    assert names == [
        "conv1",
        "bn1",
        "relu",
        "maxpool",
        "layer1",
        "layer2",
        "layer3",
        "layer4",
        "final_conv",
        "transpose_conv",
    ]
    final, up = model.net.final_conv, model.net.transpose_conv
    assert (final.in_channels, final.out_channels, final.kernel_size) == (512, 21, (1, 1))
    assert (up.kernel_size, up.stride, up.padding) == ((64, 64), (32, 32), (16, 16))
    torch.testing.assert_close(up.weight, bilinear_kernel(21, 21, 64))
    model.eval()
    with torch.no_grad():
        assert model.net[:8](torch.rand(1, 3, 64, 96)).shape == (1, 512, 2, 3)  # the book's 320x480 -> 10x15, /32
        for shape in ((2, 3, 64, 96), (1, 3, 70, 100)):  # a multiple of 32, and not
            assert model(torch.rand(shape)).shape == (shape[0], 21, *shape[2:])


def test_imagenet_weights_load_into_the_fcn_backbone_and_leave_the_new_layers(monkeypatch, tmp_path):
    reference = torchvision.models.resnet18().eval()  # stands in for the ImageNet weights
    path = tmp_path / "resnet18.pth"
    torch.save(reference.state_dict(), path)
    monkeypatch.setattr(imagenet, "published_file", lambda name: ("https://e.invalid/r-00.pth", None))
    model = FCN(weights=str(path)).eval()
    up = model.net.transpose_conv.weight.clone()
    assert model.load_pretrained() and bool(model.pretrained_loaded)
    X = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        expected = nn.Sequential(*list(reference.children())[:-2])(X)
        torch.testing.assert_close(model.net[:8](X), expected)
    assert torch.equal(model.net.transpose_conv.weight, up)
    assert not model.load_pretrained()  # once only


def test_the_loss_and_the_metrics_ignore_the_border_label():
    model = Segmenter(num_classes=3)
    logits = torch.randn(2, 3, 4, 5)
    labels = torch.randint(0, 3, (2, 4, 5))
    labels[0, 0] = 255
    labels[1, :, 2] = 255
    kept = labels != 255
    expected = F.cross_entropy(logits.permute(0, 2, 3, 1)[kept], labels[kept])
    torch.testing.assert_close(model.loss(logits, labels), expected)
    # pixel accuracy and mean IoU on known predictions: the border pixels count for nothing
    preds = torch.tensor([[0, 0, 1, 1, 2, 2]])
    truth = torch.tensor([[0, 1, 1, 1, 2, 255]])
    model.val_acc(preds, truth)
    model.val_miou(preds, truth)
    assert model.val_acc.compute().item() == pytest.approx(4 / 5)
    # IoU: class 0 1/2, class 1 2/3, class 2 1/1 (the border pixel predicted 2 is not a false positive)
    assert model.val_miou.compute().item() == pytest.approx((1 / 2 + 2 / 3 + 1) / 3)
    with pytest.raises(ValueError, match="ignore_index 1 is one of the 3 classes"):
        Segmenter(num_classes=3, ignore_index=1)


def voc_like_batch(n: int = 2, height: int = 64, width: int = 96) -> tuple[torch.Tensor, torch.Tensor]:
    """Standardised photos whose colours are the VOC colours of their blocks' classes, and those labels."""
    from conftest import voc_class_map

    labels = torch.stack([voc_class_map(height, width, seed) for seed in range(n)]).long()
    photos = torch.stack([label_colors(label) for label in labels]).float() / 255
    return normalize(photos), labels


def test_fcn_loss_falls_on_a_tiny_batch():
    torch.manual_seed(0)
    x, y = voc_like_batch()
    model = FCN(lr=0.05)
    losses = training_losses(model, x, y, steps=8)
    assert losses[-1] < 0.5 * losses[0], losses


def test_fcn_fits_on_the_voc_fixture_and_a_checkpoint_alone_predicts_the_masks(tiny_voc, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    quick = ["--trainer.max_epochs", "1", "--trainer.enable_model_summary", "false"]
    flags = ["--data.crop_size", "[64, 96]", "--data.batch_size", "2", "--model.weights", "null"]
    cli = run(["fit", "--config", config("fcn_voc"), *flags, *quick])
    metrics = cli.trainer.callback_metrics
    assert {"train/loss", "train/acc", "train/miou", "val/loss", "val/acc", "val/miou"} <= set(metrics)
    assert 0 <= float(metrics["val/acc"]) <= 1 and 0 <= float(metrics["val/miou"]) <= 1
    ckpt = sorted(tmp_path.glob("lightning_logs/version_*/checkpoints/last.ckpt"))[-1]
    capsys.readouterr()
    cli = run(["predict", "--ckpt_path", str(ckpt), "--model.max_drawn", "2"])
    out = capsys.readouterr().out
    assert "segmented 3 photos, pixel accuracy" in out
    written = [Path(line.split("wrote ", 1)[1]) for line in out.splitlines() if line.startswith("wrote ")]
    names = [p.name for p in written]
    assert names[0] == "segmentation.csv" and "2007_000005_mask.png" in names and "2007_000007_mask.png" in names
    assert "2007_000005.png" in names and "2007_000007.png" not in names  # max_drawn figures
    rows = list(csv.DictReader(written[0].open()))
    assert [(r["image"], r["height"], r["width"]) for r in rows][0] == ("2007_000005", "70", "110")
    mask = read_image(str(next(p for p in written if p.name == "2007_000005_mask.png")))
    assert mask.shape == (3, 70, 110)  # the photo's own size
    colors = {tuple(c) for c in mask.reshape(3, -1).T.tolist()}
    assert colors <= {tuple(c) for c in label_colors(torch.arange(21).reshape(1, 21)).reshape(3, -1).T.tolist()}
    figure = read_image(str(next(p for p in written if p.name == "2007_000005.png")))
    assert figure.shape == (3, 70, 3 * 110 + 2 * 4)  # photo, prediction and truth side by side


# --- fine-tuning -------------------------------------------------------------------------------------------


def test_the_new_head_learns_ten_times_faster_than_the_copied_layers():
    model = FineTuneResNet()
    assert isinstance(model.net.fc, nn.Linear) and model.net.fc.out_features == 2
    optimizer = model.configure_optimizers()
    base, head = optimizer.param_groups
    assert base["lr"] == 5e-5 and head["lr"] == pytest.approx(5e-4)
    assert base["weight_decay"] == head["weight_decay"] == 1e-3
    assert {id(p) for p in head["params"]} == {id(model.net.fc.weight), id(model.net.fc.bias)}
    assert len(base["params"]) + 2 == len(list(model.parameters()))
    scratch = FineTuneResNet(head_lr_mult=1.0, lr=5e-4)  # the from-scratch baseline: one rate for all
    assert [g["lr"] for g in scratch.configure_optimizers().param_groups] == [5e-4, 5e-4]


def fake_weights(tmp_path: Path, monkeypatch) -> Path:
    """A torchvision ResNet-18 state dict in a file, published (for the test) with its own sha256 prefix."""
    path = tmp_path / "resnet18-fake.pth"
    torch.save(torchvision.models.resnet18().state_dict(), path)
    prefix = imagenet.sha256(path)[:8]
    monkeypatch.setattr(imagenet, "published_file", lambda name: (f"https://e.invalid/resnet18-{prefix}.pth", prefix))
    return path


def test_weights_from_a_local_file_are_hash_checked_loaded_once_and_kept_by_a_reload(tmp_path, monkeypatch):
    path = fake_weights(tmp_path, monkeypatch)
    model = FineTuneResNet(weights=str(path))
    head = model.net.fc.weight.clone()
    assert model.load_pretrained()
    state = torch.load(path, weights_only=True)
    assert torch.equal(model.net.conv1.weight, state["conv1.weight"]) and torch.equal(model.net.fc.weight, head)
    # a reload (load_from_checkpoint, a resumed fit) keeps its own weights and never needs the file
    reloaded = FineTuneResNet(weights=str(tmp_path / "elsewhere.pth"))
    reloaded.load_state_dict(model.state_dict())
    assert not reloaded.load_pretrained()
    # a file that is not the published one is refused, naming both hashes
    torch.save({"conv1.weight": torch.zeros(1)}, path)
    with pytest.raises(WeightsError, match=rf"{path} has sha256 [0-9a-f]{{64}}, but torchvision publishes") as err:
        FineTuneResNet(weights=str(path)).load_pretrained()
    assert "--model.weights PATH" in str(err.value)


def test_missing_weights_are_one_clear_error_naming_url_hash_and_place(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    url, prefix = imagenet.published_file("ResNet18_Weights.IMAGENET1K_V1")
    assert (url, prefix) == ("https://download.pytorch.org/models/resnet18-f37072fd.pth", "f37072fd")
    with pytest.raises(WeightsError, match="the weights file /no/such.pth does not exist"):
        pretrained_state_dict("ResNet18_Weights.IMAGENET1K_V1", "/no/such.pth")
    monkeypatch.setattr(
        imagenet, "published_file", lambda name: ("https://example.invalid/resnet18-f37072fd.pth", "f37072fd")
    )
    with pytest.raises(WeightsError) as err:
        pretrained_state_dict("ResNet18_Weights.IMAGENET1K_V1", "imagenet")
    message = str(err.value)
    assert "cannot be downloaded" in message and "https://example.invalid/resnet18-f37072fd.pth" in message
    assert (
        "sha256 starting f37072fd" in message
        and str(tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth") in message
    )


def test_imagenet_weights_in_torch_hubs_cache_are_hash_checked_and_used(tmp_path, monkeypatch):
    path = fake_weights(tmp_path, monkeypatch)
    url, _ = imagenet.published_file("any")
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    cached = tmp_path / "hub" / "checkpoints" / Path(url).name
    cached.parent.mkdir(parents=True)
    cached.write_bytes(path.read_bytes())
    state = pretrained_state_dict("ResNet18_Weights.IMAGENET1K_V1", "imagenet")
    assert torch.equal(state["fc.bias"], torch.load(path, weights_only=True)["fc.bias"])
    cached.write_bytes(b"damaged")
    with pytest.raises(WeightsError, match="is another or a damaged file"):
        pretrained_state_dict("ResNet18_Weights.IMAGENET1K_V1", "imagenet")


def test_weights_that_do_not_fit_are_refused():
    with pytest.raises(WeightsError, match="missing"):
        load_matching(nn.Linear(2, 2), {"weight": torch.zeros(2, 2)})
    with pytest.raises(WeightsError, match="wrong shape"):
        load_matching(nn.Linear(2, 2), {"weight": torch.zeros(3, 2), "bias": torch.zeros(2)})


def test_a_missing_weights_file_on_the_command_line_is_one_error_line(tiny_hotdog, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    flags = ["--data.image_size", "32", "--data.resize", "36", "--data.batch_size", "4"]
    with pytest.raises(SystemExit) as exit_info:
        run(["fit", "--config", config("hotdog_finetune"), *flags, "--model.weights", str(tmp_path / "nope.pth")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert (
        err.startswith(f"error: the weights file {tmp_path / 'nope.pth'} does not exist") and len(err.splitlines()) == 1
    )


# --- style transfer ------------------------------------------------------------------------------------------


def test_the_gram_matrix_and_the_three_losses_on_known_tensors():
    X = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]], [[0.0, 1.0], [0.0, 1.0]]]])  # 2 channels of 2x2
    # rows [1, 2, 3, 4] and [0, 1, 0, 1]: inner products 30, 6, 2, divided by c * h * w = 8
    torch.testing.assert_close(gram(X), torch.tensor([[[3.75, 0.75], [0.75, 0.25]]]))
    assert content_loss(torch.ones(1, 2, 3, 3), torch.zeros(1, 2, 3, 3)).item() == 1.0
    assert style_loss(X, torch.zeros(1, 2, 2)).item() == pytest.approx((3.75**2 + 2 * 0.75**2 + 0.25**2) / 4)
    image = torch.tensor([[[[0.0, 1.0], [2.0, 3.0]]]])  # vertical steps 2, 2; horizontal steps 1, 1
    assert tv_loss(image).item() == pytest.approx(0.5 * (2 + 1))


def test_features_are_what_the_books_in_place_relus_leave():
    torch.manual_seed(0)
    model = StyleTransfer(image_shape=[32, 48])
    assert len(model.features) == 29 and not any(p.requires_grad for p in model.features.parameters())
    book = vgg19_features(29)
    book.load_state_dict(model.features.state_dict())
    for layer in book:
        if isinstance(layer, nn.ReLU):
            layer.inplace = True  # torchvision's VGG, as the book uses it
    X = torch.rand(1, 3, 32, 48)
    contents, styles, Y = [], [], X
    for i, layer in enumerate(book):  # the book's extract_features, verbatim in substance
        Y = layer(Y)
        if i in (0, 5, 10, 19, 28):
            styles.append(Y)
        if i == 25:
            contents.append(Y)
    ours_contents, ours_styles = model(X)
    for ours, theirs in zip(ours_contents + ours_styles, contents + styles):
        torch.testing.assert_close(ours, theirs)
    assert (ours_styles[0] >= 0).all() and (ours_styles[-1] < 0).any()  # rectified, but layer 28 (the last) is not


def style_losses(model: StyleTransfer, pair: list[torch.Tensor], steps: int) -> list[list[float]]:
    """Optimise `model`'s image for `steps` steps on the (content, style) pair; each step's content, style, TV and
    total losses."""
    optimizer = model.configure_optimizers()["optimizer"]
    targets = model.targets(*pair)
    history = []
    for _ in range(steps):
        *parts, loss = model.losses(model.synthesized, *targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append([v.item() for v in (*parts, loss)])
    return history


def test_style_transfer_loss_falls_and_only_the_image_learns(tmp_path):
    """From noise (random VGG-19 weights, 32x48 images): the book's total falls, and without the TV term the
    style loss falls too; the VGG-19 weights never move."""
    content, style = write_style_images(tmp_path, 32, 48)
    pair = [read_image(str(p)).float().div(255).unsqueeze(0) for p in (content, style)]
    torch.manual_seed(0)
    model = StyleTransfer(image_shape=[32, 48])
    optimizer = model.configure_optimizers()["optimizer"]
    assert [p for g in optimizer.param_groups for p in g["params"]] == [model.synthesized]
    vgg = [p.clone() for p in model.features.parameters()]
    history = style_losses(model, pair, steps=12)
    assert history[-1][3] < 0.5 * history[0][3], history
    assert all(torch.equal(a, b) for a, b in zip(vgg, model.features.parameters()))
    torch.manual_seed(0)
    history = style_losses(StyleTransfer(image_shape=[32, 48], tv_weight=0.0), pair, steps=12)
    assert history[-1][1] < 0.5 * history[0][1], history
    with pytest.raises(ValueError, match="style_layers must be indices of VGG-19's 37 feature layers"):
        StyleTransfer(style_layers=[40])


def test_vgg19_weights_load_by_torchvisions_names_into_the_kept_layers(tmp_path, monkeypatch):
    state = {f"features.{k}": v + 1 for k, v in vgg19_features(3).state_dict().items()}
    state["features.5.weight"] = torch.zeros(128, 64, 3, 3)  # deeper layers and the classifier are not needed
    state["classifier.0.weight"] = torch.zeros(4, 4)
    path = tmp_path / "vgg19.pth"
    torch.save(state, path)
    monkeypatch.setattr(imagenet, "published_file", lambda name: ("https://e.invalid/vgg19-00.pth", None))
    model = StyleTransfer(image_shape=[8, 8], content_layers=[2], style_layers=[0], weights=str(path))
    assert len(model.features) == 3 and model.load_pretrained()  # keeps layers 0-2
    assert torch.equal(model.features[2].weight, state["features.2.weight"])


def test_style_transfer_writes_the_result_and_snapshots_and_predicts_from_its_checkpoint(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    content, style = write_style_images(tmp_path)
    images = ["--data.content_image", str(content), "--data.style_image", str(style), "--data.image_shape", "[32, 48]"]
    flags = [*images, "--data.steps_per_epoch", "2", "--trainer.max_epochs", "1", "--model.weights", "null"]
    cli = run(["fit", "--config", config("style_transfer"), *flags, "--model.snapshot_every", "1"])
    assert cli.model.hparams.image_shape == [32, 48]  # from the data
    assert {"train/loss", "train/content", "train/style", "train/tv"} <= set(cli.trainer.callback_metrics)
    run_dir = Path(cli.trainer.log_dir)
    assert read_image(str(run_dir / "style_transfer.png")).shape == (3, 32, 48)
    assert sorted(p.name for p in (run_dir / "snapshots").iterdir()) == ["step_0001.png", "step_0002.png"]
    assert "last step: content loss" in capsys.readouterr().out
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    run(["predict", "--ckpt_path", str(ckpt)])
    assert "wrote" in capsys.readouterr().out and (run_dir / "predict" / "style_transfer.png").is_file()


# --- the CIFAR-10 ResNet-18 ----------------------------------------------------------------------------------


def test_the_cifar10_resnet18_is_the_books_and_its_loss_falls():
    import zoo

    model = zoo.get_model("resnet18_cifar10")
    assert isinstance(model, ResNet) and model.hparams.in_channels == 3 and model.hparams.stem == "small"
    first = model.net[0][0]
    assert (first.in_channels, first.kernel_size, first.stride) == (3, (3, 3), (1, 1))
    assert type(model.configure_optimizers()).__name__ == "Adam"
    torch.manual_seed(0)
    x, y = learnable_images(8, 0)
    images = F.pad(torch.from_numpy(x).float().div(255)[:, None].expand(8, 3, 28, 28), (2, 2, 2, 2))  # 32x32 RGB
    losses = training_losses(model, images, torch.from_numpy(y).long(), steps=5)
    assert losses[-1] < 0.5 * losses[0], losses
