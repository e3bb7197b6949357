"""The vision applications' data: batched augmentation with per-image randomness, CIFAR-10 from its python
tarball, the hot-dog image folder, VOC2012 segmentation (colormap, border label, paired crops, filtering), style
transfer's image pair; each on fixtures in the real formats, and each bad input one clear error naming the file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from conftest import (
    VOC_FIXTURE,
    VOC_PALETTE,
    use_fixture_file,
    voc_class_map,
    write_cifar_tarball,
    write_hotdog_folder,
    write_style_images,
    write_voc_tree,
    zip_folder,
)
from torchvision.transforms.v2 import functional as TF

from cli import run
from datamodules import CIFAR10, DataError, Hotdog, StyleImages, VOCSegmentation
from datamodules.images.augment import (
    ColorJitter,
    RandomFlip,
    RandomResizedCrop,
    adjust_brightness,
    adjust_contrast,
    adjust_hue,
    adjust_saturation,
    make_augmentation,
)
from datamodules.images.cifar import read_cifar10
from datamodules.images.voc import (
    VOC_CLASSES,
    VOC_COLORMAP,
    label_colors,
    voc_label_indices,
    voc_rand_crop,
)
from zoo.core.segmentation import pascal_palette

# --- batched augmentation ---------------------------------------------------------------------------------


def same_images(n: int = 64, seed: int = 0) -> torch.Tensor:
    """`n` copies of one random image (3, 20, 24): any difference between outputs is the augmentation's."""
    torch.manual_seed(seed)
    return torch.rand(1, 3, 20, 24).expand(n, 3, 20, 24).contiguous()


def test_torchvisions_batched_transforms_share_one_draw_so_the_zoo_draws_per_image():
    """Why the zoo has its own: v2.RandomHorizontalFlip on a batch flips all of it or none of it."""
    from torchvision.transforms import v2

    x = same_images()
    flipped = [bool(torch.equal(out[0], out[-1])) for out in (v2.RandomHorizontalFlip()(x) for _ in range(8))]
    assert all(flipped)  # first and last image always treated alike
    out = RandomFlip()(x)
    is_flipped = [torch.equal(o, x[0].flip(-1)) for o in out]
    assert all(torch.equal(o, x[0]) or f for o, f in zip(out, is_flipped))  # each image flipped or kept
    assert 10 < sum(is_flipped) < 54  # and independently: about half of 64


def test_random_resized_crops_are_torchvisions_per_image_and_differ_between_images():
    x = torch.rand(32, 3, 20, 24)
    crop = RandomResizedCrop(size=(16, 16), scale=(0.1, 1.0), ratio=(0.5, 2.0))
    torch.manual_seed(0)
    boxes = crop.sample(32, 20, 24)
    top, left, h, w = boxes.unbind(1)
    assert ((h * w >= 0.1 * 480 - 24) & (top + h <= 20) & (left + w <= 24) & (h >= 1) & (w >= 1)).all()
    assert len({tuple(b.tolist()) for b in boxes}) > 20  # independent draws
    ours = crop.apply(x, boxes)
    theirs = torch.stack([TF.resized_crop(x[i], *map(int, boxes[i]), [16, 16], antialias=False) for i in range(32)])
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=0)
    out = RandomResizedCrop(scale=(0.1, 1.0), ratio=(0.5, 2.0))(same_images())
    assert out.shape == (64, 3, 20, 24) and len({o.sum().item() for o in out}) > 50
    # no try fits: torchvision's fallback, the centre crop at the nearest allowed ratio
    assert RandomResizedCrop(scale=(0.9, 1), ratio=(5, 6)).sample(2, 20, 24).tolist() == [[7, 0, 5, 24]] * 2


def test_colour_adjustments_are_torchvisions_with_a_factor_per_image():
    torch.manual_seed(0)
    x = torch.rand(6, 3, 12, 16)
    factors = torch.tensor([0.0, 0.3, 0.7, 1.0, 1.2, 1.5])
    for ours, theirs in (
        (adjust_brightness, TF.adjust_brightness),
        (adjust_contrast, TF.adjust_contrast),
        (adjust_saturation, TF.adjust_saturation),
    ):
        expected = torch.stack([theirs(x[i], float(f)) for i, f in enumerate(factors)])
        torch.testing.assert_close(ours(x, factors), expected, atol=1e-6, rtol=0)
    hues = torch.tensor([-0.5, -0.3, 0.0, 0.1, 0.25, 0.5])
    expected = torch.stack([TF.adjust_hue(x[i], float(h)) for i, h in enumerate(hues)])
    torch.testing.assert_close(adjust_hue(x, hues), expected, atol=1e-5, rtol=0)


def test_colour_jitter_draws_factors_and_order_per_image_and_zero_jitter_is_identity():
    x = same_images()
    jitter = ColorJitter(0.5, 0.5, 0.5, 0.5)  # the book's color_aug
    factors, order = jitter.sample(64)
    assert factors[:, :3].min() >= 0.5 and factors[:, :3].max() <= 1.5 and factors[:, 3].abs().max() <= 0.5
    assert len({tuple(o.tolist()) for o in order}) > 10  # per-image orders of the four adjustments
    out = jitter.apply(x, factors, order)
    assert len({round(o.mean().item(), 5) for o in out}) == 64
    # one image, applied alone in its own order with torchvision's functions: the same
    i = 5
    ops = [TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation, TF.adjust_hue]
    expected = x[i]
    for j in order[i].tolist():
        expected = ops[j](expected, float(factors[i, j]))
    torch.testing.assert_close(out[i], expected, atol=1e-5, rtol=0)
    assert torch.equal(ColorJitter()(x), x)


def test_make_augmentation_builds_the_named_pipeline_in_order():
    pipeline = make_augmentation(["flip", "color", "resized_crop"])
    assert [type(s) for s in pipeline.steps] == [RandomFlip, ColorJitter, RandomResizedCrop]
    assert pipeline.steps[2].scale == (0.1, 1.0) and pipeline.steps[2].ratio == (0.5, 2.0)  # the book's shape_aug
    assert len(make_augmentation([])) == 0
    with pytest.raises(ValueError, match="unknown augmentation"):
        make_augmentation(["rotate"])


# --- CIFAR-10 ------------------------------------------------------------------------------------------------


def test_cifar10_reads_the_real_tarball_layout(tmp_path):
    archive = tmp_path / "cifar-10-python.tar.gz"
    train_x, train_y, test_x, test_y = write_cifar_tarball(archive)
    x, y, tx, ty, names = read_cifar10(archive)
    assert x.dtype == torch.uint8 and x.shape == (40, 3, 32, 32) and tx.shape == (16, 3, 32, 32)
    assert torch.equal(x, torch.from_numpy(train_x)) and torch.equal(y, torch.from_numpy(train_y))
    assert torch.equal(tx, torch.from_numpy(test_x)) and torch.equal(ty, torch.from_numpy(test_y))
    assert names == CIFAR10.classes


def test_cifar10_module_keeps_uint8_and_augments_training_batches_only(tiny_cifar):
    data = CIFAR10(batch_size=8)
    data.setup("fit")
    assert data.train_set.tensors[0].dtype == torch.uint8 and len(data.train_set) == 40 and len(data.val_set) == 16
    assert (data.num_classes, data.in_channels) == (10, 3)
    images, labels = next(iter(data.train_dataloader()))
    plain = data.to_model_input(images)
    assert plain.dtype == torch.float32 and plain.min() >= 0 and plain.max() <= 1
    torch.testing.assert_close(plain, images.float() / 255)

    class Training:  # what on_after_batch_transfer asks the trainer
        training = True

    data.trainer = Training()
    torch.manual_seed(0)
    x, _ = data.on_after_batch_transfer((images, labels), 0)
    flipped = [torch.equal(a, b.flip(-1)) and not torch.equal(a, b) for a, b in zip(x, plain)]
    assert all(torch.equal(a, b) or f for a, b, f in zip(x, plain, flipped)) and 0 < sum(flipped) < 8
    data.trainer.training = False
    assert torch.equal(data.on_after_batch_transfer((images, labels), 0)[0], plain)


def test_cifar10_published_url_and_md5_are_torchvisions():
    (remote,) = CIFAR10.remote_files()
    assert remote.url == "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    assert remote.known_hash == "md5:c58f30108f718f92721af3b95e74349a" and remote.name == "cifar-10-python.tar.gz"


def test_a_missing_or_corrupt_cifar_archive_is_one_clear_error(tmp_path, monkeypatch):
    data = CIFAR10(data_dir=str(tmp_path), download=False)
    with pytest.raises(DataError, match="cifar-10-python.tar.gz") as err:
        data.setup()
    assert "md5:c58f30108f718f92721af3b95e74349a" in str(err.value) and str(tmp_path / "cifar-10") in str(err.value)
    folder = tmp_path / "cifar-10"
    folder.mkdir()
    (folder / "cifar-10-python.tar.gz").write_bytes(b"not an archive")
    with pytest.raises(DataError, match="corrupt or truncated"):
        CIFAR10(data_dir=str(tmp_path), download=False).setup()
    # a file with the right hash (the fixture's own) that is no tarball
    use_fixture_file(monkeypatch, CIFAR10, folder / "cifar-10-python.tar.gz")
    with pytest.raises(DataError, match=r"cifar-10-python.tar.gz cannot be read as a .tar.gz archive"):
        CIFAR10(data_dir=str(tmp_path), download=False).setup()


def test_a_cifar_batch_may_construct_only_arrays(tmp_path):
    import io
    import pickle
    import tarfile

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo unsafe",))

    archive = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        data = pickle.dumps({"data": Evil()}, protocol=2)
        info = tarfile.TarInfo("cifar-10-batches-py/data_batch_1")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    with pytest.raises(DataError, match="data_batch_1 is not a CIFAR batch.*system is not allowed"):
        read_cifar10(archive)


# --- the hot-dog image folder -------------------------------------------------------------------------------


def test_hotdog_reads_the_folder_and_applies_the_books_transforms(tiny_hotdog):
    data = Hotdog(image_size=48, resize=56, batch_size=4)
    data.setup("fit")
    assert len(data.train_set) == 12 and len(data.val_set) == 6 and data.num_classes == 2
    assert [label for _, label in data.train_set.samples] == [0] * 6 + [1] * 6  # ImageFolder's sorted classes
    image, label = data.train_set[0]
    assert image.dtype == torch.uint8 and image.shape == (3, 48, 48) and label == 0
    first, second = data.val_set[0][0], data.val_set[0][0]
    assert torch.equal(first, second) and first.shape == (3, 48, 48)  # evaluation: resize + centre crop, fixed
    path = data.val_set.samples[0][0]
    from torchvision.io import read_image

    raw = read_image(str(path))
    assert torch.equal(first, TF.center_crop(TF.resize(raw, 56, antialias=True), [48, 48]))
    images, labels = next(iter(data.val_dataloader()))
    x, y = data.on_after_batch_transfer((images, labels), 0)
    mean = torch.tensor([0.485, 0.456, 0.406]).reshape(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).reshape(1, 3, 1, 1)
    torch.testing.assert_close(x, (images.float() / 255 - mean) / std)


def test_the_hotdog_archive_is_hash_checked_and_unpacked(tmp_path, monkeypatch):
    source = tmp_path / "source"
    archive = zip_folder(write_hotdog_folder(source, per_class=(2, 1)), tmp_path / "hotdog.zip")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with pytest.raises(DataError, match="hotdog.zip.*sha1:fba480ffa8aa7e0febbb511d181409f899b9baa5"):
        Hotdog(data_dir=str(data_dir), download=False).setup()
    (data_dir / "hotdog.zip").write_bytes(archive.read_bytes())
    with pytest.raises(DataError, match="corrupt or truncated"):  # the published hash is not the fixture's
        Hotdog(data_dir=str(data_dir), download=False).setup()
    use_fixture_file(monkeypatch, Hotdog, archive, "sha1")
    data = Hotdog(data_dir=str(data_dir), download=False, image_size=32, resize=40)
    data.setup()
    assert len(data.train_set) == 4 and (data_dir / "hotdog" / "test" / "not-hotdog" / "0.png").is_file()


def test_an_unreadable_hotdog_image_names_the_file(tiny_hotdog):
    bad = tiny_hotdog / "hotdog" / "test" / "hotdog" / "0.png"
    bad.write_bytes(b"\x89PNG broken")
    data = Hotdog(image_size=32, resize=40)
    data.setup()
    with pytest.raises(DataError, match=f"{bad} cannot be read as an image"):
        data.val_set[0]


def test_a_missing_or_empty_hotdog_class_folder_is_one_error_naming_it(tiny_hotdog):
    import shutil

    test = tiny_hotdog / "hotdog" / "test"
    shutil.rmtree(test / "not-hotdog")
    with pytest.raises(DataError, match=f"{test / 'not-hotdog'} does not exist.*one sub-folder per class"):
        Hotdog(image_size=32, resize=40).setup()
    (test / "not-hotdog").mkdir()
    (test / "not-hotdog" / "notes.txt").write_text("not an image")
    with pytest.raises(DataError, match=f"{test / 'not-hotdog'} holds no images"):
        Hotdog(image_size=32, resize=40).setup()


# --- VOC2012 segmentation --------------------------------------------------------------------------------


def test_the_voc_colormap_round_trips_and_the_border_is_255():
    assert len(VOC_COLORMAP) == len(VOC_CLASSES) == 21 and VOC_COLORMAP == VOC_PALETTE
    assert pascal_palette()[:21] == VOC_COLORMAP and pascal_palette()[255] == [224, 224, 192]
    labels = torch.tensor([list(range(21)) + [255]], dtype=torch.uint8)  # every class and the border
    colors = label_colors(labels)
    assert colors.shape == (3, 1, 22) and colors[:, 0, 1].tolist() == [128, 0, 0]
    assert torch.equal(voc_label_indices(colors), labels)
    # the book's printed example: aeroplane (1) is [128, 0, 0]
    assert voc_label_indices(torch.tensor([128, 0, 0], dtype=torch.uint8).reshape(3, 1, 1)).item() == 1


def test_a_colour_outside_the_palette_is_one_error_naming_the_file():
    colors = label_colors(torch.zeros(4, 5, dtype=torch.uint8))
    colors[:, 2, 3] = torch.tensor([10, 20, 30], dtype=torch.uint8)
    with pytest.raises(DataError, match=r"mask.png: colour \[10, 20, 30\] at row 2, column 3 \(1 pixels in all\)"):
        voc_label_indices(colors, "mask.png")


def test_the_paired_crop_keeps_photo_and_label_aligned():
    """A photo whose colours encode its own class map: after the crop, the photo's colours still give the
    labels."""
    labels = voc_class_map(60, 90, seed=3)
    photo = label_colors(labels)
    crops = set()
    for _ in range(20):
        photo_crop, label_crop = voc_rand_crop(photo, labels, 32, 48)
        assert photo_crop.shape == (3, 32, 48) and label_crop.shape == (32, 48)
        assert torch.equal(voc_label_indices(photo_crop), label_crop)
        crops.add(label_crop.sum().item())
    assert len(crops) > 1  # the window moves


def nearest_class(photo: torch.Tensor) -> torch.Tensor:
    """The class whose VOC colour (or the border's) is nearest each pixel of a decoded JPEG."""
    palette = torch.tensor(VOC_COLORMAP + [[224, 224, 192]], dtype=torch.float32)
    distance = ((photo.float().permute(1, 2, 0)[..., None, :] - palette) ** 2).sum(-1)
    index = distance.argmin(-1)
    return torch.where(index == 21, 255, index).to(torch.uint8)


def test_voc_reads_the_tree_filters_small_examples_and_crops_pairs_alike(tiny_voc, capsys):
    data = VOCSegmentation(crop_size=[64, 96], batch_size=2)
    data.setup("fit")
    out = capsys.readouterr().out
    assert "train: 3 of 4 examples kept" in out and "val: 2 of 3 examples kept" in out
    small = [name for name, (_, h, w) in VOC_FIXTURE.items() if h < 64 or w < 96]
    assert not set(small) & set(data.train_set.names + data.val_set.names)
    assert data.num_classes == 21
    torch.manual_seed(0)
    for _ in range(3):
        photo, label = data.train_set[0]
        assert photo.shape == (3, 64, 96) and photo.dtype == label.dtype == torch.uint8
        assert (nearest_class(photo) == label).float().mean() > 0.97  # JPEG blurs a few edge pixels
    assert torch.equal(data.val_set[0][1], data.val_set[0][1])  # evaluation: the centred window
    images, labels = next(iter(data.train_dataloader()))
    x, y = data.on_after_batch_transfer((images, labels), 0)
    assert x.shape == (2, 3, 64, 96) and x.dtype == torch.float32 and y.dtype == torch.long
    assert set(y.unique().tolist()) <= set(range(5)) | {255}
    # predict: the whole validation photos, padded to the largest, with their sizes and the photos themselves
    batch = next(iter(data.predict_dataloader()))
    x, y, sizes, photos = data.on_after_batch_transfer(batch, 0)
    assert sizes.tolist() == [[70, 110], [64, 96]] and x.shape == (2, 3, 70, 110) and (y[1, 64:] == 255).all()
    assert data.image_names == ["2007_000005", "2007_000006", "2007_000007"]
    train_photos = VOCSegmentation(crop_size=[64, 96], predict_split="train")
    train_photos.setup()
    assert train_photos.image_names == [name for name, (split, _, _) in VOC_FIXTURE.items() if split == "train"]
    with pytest.raises(ValueError, match="predict_split must be one of"):
        VOCSegmentation(predict_split="test")


def test_voc_says_when_no_example_is_as_large_as_the_crop(tiny_voc):
    with pytest.raises(DataError, match="no example is at least 200x300: choose a smaller --data.crop_size"):
        VOCSegmentation(crop_size=[200, 300]).setup()


def test_a_bad_voc_mask_or_a_missing_file_names_the_file(tiny_voc):
    voc_dir = tiny_voc / "VOCdevkit" / "VOC2012"
    from torchvision.io import write_png

    mask = voc_dir / "SegmentationClass" / "2007_000006.png"
    colors = label_colors(torch.zeros(64, 96, dtype=torch.uint8))
    colors[:, 10, 20] = torch.tensor([1, 2, 3], dtype=torch.uint8)
    write_png(colors, str(mask))  # an RGB PNG, with one pixel off the palette
    data = VOCSegmentation(crop_size=[64, 96])
    data.setup()
    with pytest.raises(DataError, match=rf"{mask}: colour \[1, 2, 3\] at row 10, column 20"):
        data.val_set[1]
    (voc_dir / "JPEGImages" / "2007_000001.jpg").unlink()
    with pytest.raises(DataError, match=r"train.txt lists 2007_000001, but .*2007_000001.jpg does not exist"):
        VOCSegmentation(crop_size=[64, 96]).setup()


def test_voc_offline_names_the_archive_its_hash_and_the_folder(tmp_path):
    with pytest.raises(DataError) as err:
        VOCSegmentation(data_dir=str(tmp_path), download=False).setup()
    message = str(err.value)
    assert "VOCtrainval_11-May-2012.tar" in message and "sha1:4e443f8a2eca6b1dac8a6c57641b67dd40621a49" in message
    assert "VOCdevkit/VOC2012" in message


def test_the_voc_archive_is_hash_checked_and_unpacked(tmp_path, monkeypatch):
    import tarfile

    write_voc_tree(tmp_path / "source")
    archive = tmp_path / "data" / "VOCtrainval_11-May-2012.tar"
    archive.parent.mkdir()
    with tarfile.open(archive, "w") as tar:
        tar.add(tmp_path / "source" / "VOCdevkit", arcname="VOCdevkit")
    use_fixture_file(monkeypatch, VOCSegmentation, archive, "sha1")
    data = VOCSegmentation(data_dir=str(tmp_path / "data"), download=False, crop_size=[64, 96])
    data.setup()
    assert len(data.train_set) == 3 and (tmp_path / "data" / "VOCdevkit" / "VOC2012" / "JPEGImages").is_dir()


REAL_VOC = Path(os.environ.get("D2L_ZOO_DATA", "/nonexistent")) / "VOCdevkit" / "VOC2012"


@pytest.mark.skipif(not REAL_VOC.is_dir(), reason="opt-in: D2L_ZOO_DATA with a VOCdevkit/VOC2012 copy")
def test_the_genuine_voc_pairs_decode_to_palette_classes():
    data = VOCSegmentation(crop_size=[256, 480])
    data.setup()
    for name in data.image_names:
        from datamodules.images.voc import read_pair

        photo, labels = read_pair(data.folder, name)
        assert photo.shape[-2:] == labels.shape and set(labels.unique().tolist()) <= set(range(21)) | {255}


# --- style transfer's images ----------------------------------------------------------------------------------


def test_style_images_are_the_pair_resized_in_every_batch(tmp_path):
    content, style = write_style_images(tmp_path)
    data = StyleImages(content_image=str(content), style_image=str(style), image_shape=[20, 30], steps_per_epoch=3)
    data.setup("fit")
    batches = list(data.train_dataloader())
    assert len(batches) == 3 and data.image_shape == [20, 30]
    c, s = batches[0]
    assert c.shape == s.shape == (1, 3, 20, 30) and c.min() >= 0 and c.max() <= 1 and not torch.equal(c, s)
    with pytest.raises(ValueError, match="batch_size must be 1"):
        StyleImages(content_image=str(content), style_image=str(style), batch_size=4)


def test_a_content_image_that_does_not_exist_is_one_error_line(tmp_path, monkeypatch, capsys):
    from conftest import config

    monkeypatch.chdir(tmp_path)
    _, style = write_style_images(tmp_path)
    missing = tmp_path / "no-such-photo.jpg"
    flags = ["--data.content_image", str(missing), "--data.style_image", str(style), "--model.weights", "null"]
    with pytest.raises(SystemExit) as exit_info:
        run(["fit", "--config", config("style_transfer"), *flags])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: the content image {missing} does not exist"
