"""Object detection: the book's anchor boxes, assignment, offsets and NMS against its printed examples; TinySSD's
shapes and training; the banana data module on fixtures in the real layout; mAP; predict from a checkpoint."""

from __future__ import annotations

import csv
import math
import zipfile
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
import torchmetrics
from conftest import assert_loss_falls, config, use_banana_archive, write_banana_set, write_banana_split, zip_banana_set
from torch import nn
from torchvision.ops import box_iou

import datamodules.images.bananas as bananas_module
from cli import run
from datamodules import Bananas, DataError
from zoo import Detector, TinySSD
from zoo.core.detection import ClassError, map_backend, map_inputs
from zoo.vision.anchors import (
    assign_anchor_to_bbox,
    multibox_detection,
    multibox_prior,
    multibox_target,
    offset_boxes,
    offset_inverse,
)
from zoo.vision.ssd import cls_predictor, concat_preds, down_sample_blk

# the book's hand-made case ("Anchor Boxes"): the dog and the cat in catdog.jpg, five anchors
GROUND_TRUTH = torch.tensor([[0, 0.1, 0.08, 0.52, 0.92], [1, 0.55, 0.2, 0.9, 0.88]])
ANCHORS = torch.tensor(
    [
        [0, 0.1, 0.2, 0.3],
        [0.15, 0.2, 0.4, 0.4],
        [0.63, 0.05, 0.88, 0.98],
        [0.66, 0.45, 0.8, 0.8],
        [0.57, 0.3, 0.92, 0.9],
    ]
)


# --- anchor boxes ------------------------------------------------------------------------------------------


def test_multibox_prior_gives_the_books_anchor_count_and_the_anchor_it_prints():
    h, w = 561, 728  # catdog.jpg
    Y = multibox_prior(torch.zeros(1, 3, h, w), sizes=[0.75, 0.5, 0.25], ratios=[1, 2, 0.5])
    assert Y.shape == (1, 2_042_040, 4)  # 561 * 728 pixels * (3 + 3 - 1) anchors
    boxes = Y.reshape(h, w, 5, 4)
    torch.testing.assert_close(boxes[250, 250, 0], torch.tensor([0.06, 0.07, 0.63, 0.82]), atol=0.005, rtol=0)
    # all five at that pixel: (size, ratio) = (0.75, 1), (0.5, 1), (0.25, 1), (0.75, 2), (0.75, 0.5)
    cx, cy = 250.5 / w, 250.5 / h
    for box, (s, r) in zip(boxes[250, 250], [(0.75, 1), (0.5, 1), (0.25, 1), (0.75, 2), (0.75, 0.5)]):
        half_w, half_h = s * math.sqrt(r) * h / w / 2, s / math.sqrt(r) / 2
        torch.testing.assert_close(box, torch.tensor([cx - half_w, cy - half_h, cx + half_w, cy + half_h]))


def test_multibox_prior_puts_n_plus_m_minus_1_shapes_on_every_pixel_row_by_row():
    Y = multibox_prior(torch.zeros(1, 8, 2, 4), sizes=[0.5, 0.25], ratios=[1, 4]).reshape(2, 4, 3, 4)
    centres = (Y[..., :2] + Y[..., 2:]) / 2
    torch.testing.assert_close(centres[1, 2, 0], torch.tensor([2.5 / 4, 1.5 / 2]))  # row 1, column 2
    assert (centres == centres[:, :, :1]).all()  # a pixel's anchors share its centre
    sides = Y[0, 0, :, 2:] - Y[0, 0, :, :2]  # widths (in units of the image's width) and heights
    torch.testing.assert_close(sides, torch.tensor([[0.25, 0.5], [0.125, 0.25], [0.5, 0.25]]))  # 2:1 aspect fixed


def test_assignment_labels_and_offsets_are_the_books_dog_and_cat_example():
    torch.testing.assert_close(assign_anchor_to_bbox(GROUND_TRUTH[:, 1:], ANCHORS), torch.tensor([-1, 0, 1, -1, 1]))
    offsets, mask, classes = multibox_target(ANCHORS.unsqueeze(0), GROUND_TRUTH.unsqueeze(0))
    assert classes.tolist() == [[0, 1, 2, 0, 2]]  # background, dog, cat, background, cat (the book's labels[2])
    assert mask.tolist() == [[0.0] * 4 + [1.0] * 8 + [0.0] * 4 + [1.0] * 4]  # labels[1]
    printed = [0, 0, 0, 0, 1.40, 10.0, 2.59, 7.18, -1.20, 0.269, 1.68, -1.57, 0, 0, 0, 0, -0.571, -1.00, 4.17e-6, 0.626]
    torch.testing.assert_close(offsets, torch.tensor([printed]), rtol=5e-3, atol=1e-5)  # labels[0], as printed


def test_the_greedy_step_gives_every_box_an_anchor_and_the_threshold_adds_the_close_ones():
    truth = torch.tensor([[0.0, 0.0, 0.4, 0.4], [0.6, 0.6, 1.0, 1.0]])
    anchors = torch.tensor(
        [
            [0.0, 0.0, 0.4, 0.45],  # IoU 0.89 with box 0
            [0.0, 0.0, 0.4, 0.5],  # IoU 0.8 with box 0: above 0.5, so assigned too
            [0.5, 0.5, 0.9, 0.9],  # IoU 0.39 with box 1: its best anchor, assigned by the greedy step
            [0.55, 0.0, 0.95, 0.4],  # touches neither
        ]
    )
    assert box_iou(anchors, truth)[2, 1] < 0.5
    assert assign_anchor_to_bbox(truth, anchors).tolist() == [0, 0, 1, -1]
    assert assign_anchor_to_bbox(truth, anchors, iou_threshold=0.85).tolist() == [0, -1, 1, -1]
    assert assign_anchor_to_bbox(truth[:0], anchors).tolist() == [-1] * 4  # an image without objects


def test_padding_rows_of_class_minus_1_are_not_objects():
    padded = torch.cat([GROUND_TRUTH, torch.full((2, 5), -1.0)]).unsqueeze(0)
    both = [multibox_target(ANCHORS.unsqueeze(0), labels) for labels in (GROUND_TRUTH.unsqueeze(0), padded)]
    for a, b in zip(*both):
        torch.testing.assert_close(a, b)
    offsets, mask, classes = multibox_target(ANCHORS.unsqueeze(0), torch.full((1, 1, 5), -1.0))
    assert classes.eq(0).all() and mask.eq(0).all() and offsets.eq(0).all()


def test_offsets_use_the_books_scalings_and_decoding_inverts_encoding():
    anchor = torch.tensor([[0.2, 0.2, 0.6, 0.4]])  # centre (0.4, 0.3), 0.4 wide, 0.2 high
    moved = torch.tensor([[0.24, 0.22, 0.64, 0.42]])  # centre shifted by 0.1 of each side
    torch.testing.assert_close(offset_boxes(anchor, moved), torch.tensor([[1.0, 1.0, 0.0, 0.0]]), atol=1e-4, rtol=0)
    grown = torch.tensor(
        [[0.4 - 0.2 * math.e**0.2, 0.3 - 0.1 * math.e**0.4, 0.4 + 0.2 * math.e**0.2, 0.3 + 0.1 * math.e**0.4]]
    )
    torch.testing.assert_close(offset_boxes(anchor, grown), torch.tensor([[0.0, 0.0, 1.0, 2.0]]), atol=1e-4, rtol=0)
    torch.manual_seed(0)
    corners = torch.rand(50, 2, 2) * 0.5
    anchors = torch.cat([corners[:, 0], corners[:, 0] + 0.05 + corners[:, 1]], dim=1)
    corners = torch.rand(50, 2, 2) * 0.5
    boxes = torch.cat([corners[:, 0], corners[:, 0] + 0.05 + corners[:, 1]], dim=1)
    torch.testing.assert_close(offset_inverse(anchors, offset_boxes(anchors, boxes)), boxes, atol=1e-5, rtol=0)


# --- predicting boxes: NMS and the detection output ------------------------------------------------------


def test_multibox_detection_gives_the_books_output_for_its_nms_example():
    anchors = torch.tensor(
        [[0.1, 0.08, 0.52, 0.92], [0.08, 0.2, 0.56, 0.95], [0.15, 0.3, 0.62, 0.91], [0.55, 0.2, 0.9, 0.88]]
    )
    cls_probs = torch.tensor([[0.0] * 4, [0.9, 0.8, 0.7, 0.1], [0.1, 0.2, 0.3, 0.9]])  # background, dog, cat
    output = multibox_detection(cls_probs.unsqueeze(0), torch.zeros(1, 16), anchors.unsqueeze(0), nms_threshold=0.5)
    printed = [
        [0.00, 0.90, 0.10, 0.08, 0.52, 0.92],  # the best dog
        [1.00, 0.90, 0.55, 0.20, 0.90, 0.88],  # the cat
        [-1.00, 0.80, 0.08, 0.20, 0.56, 0.95],  # two dogs suppressed by the best
        [-1.00, 0.70, 0.15, 0.30, 0.62, 0.91],
    ]
    torch.testing.assert_close(output, torch.tensor([printed]))


def test_nms_is_per_class_and_low_scores_are_background():
    box = [0.1, 0.1, 0.5, 0.5]
    anchors = torch.tensor([box, [0.12, 0.1, 0.52, 0.5], box, [0.6, 0.6, 0.9, 0.9]])  # 0 and 1 overlap, 2 = 0
    cls_probs = torch.tensor([[0.1, 0.2, 0.3, 0.995], [0.8, 0.7, 0.1, 0.0], [0.1, 0.1, 0.6, 0.005]]).unsqueeze(0)
    out = multibox_detection(cls_probs, torch.zeros(1, 16), anchors.unsqueeze(0))[0]
    # anchor 2 is a class-1 box on top of the class-0 box 0: per-class NMS keeps both; box 1 (class 0, IoU 0.9 with
    # box 0) is suppressed; box 3 scores 0.005 < pos_threshold: background, with score 1 - 0.005
    assert out[:, 0].tolist() == [0, 1, -1, -1]
    torch.testing.assert_close(out[:, 1], torch.tensor([0.8, 0.6, 0.995, 0.7]))
    torch.testing.assert_close(out[:, 2:], anchors[[0, 2, 3, 1]])


def test_the_detection_output_has_one_row_per_anchor_kept_ones_first_best_first():
    torch.manual_seed(0)
    a, classes = 30, 3
    corners = torch.rand(a, 2) * 0.6
    anchors = torch.cat([corners, corners + 0.2 + torch.rand(a, 2) * 0.2], dim=1).unsqueeze(0)
    cls_probs = F.softmax(torch.randn(2, classes + 1, a), dim=1)
    offsets = torch.randn(2, a * 4) * 0.5
    out = multibox_detection(cls_probs, offsets, anchors)
    assert out.shape == (2, a, 6)
    for i in range(2):
        kept = out[i, :, 0] >= 0
        n = int(kept.sum())
        assert 0 < n < a and kept[:n].all() and not kept[n:].any()  # kept rows first
        assert set(out[i, :, 0].tolist()) <= {-1.0, 0.0, 1.0, 2.0}
        assert (out[i, : n - 1, 1] >= out[i, 1:n, 1]).all()  # best first
        decoded = offset_inverse(anchors[0], offsets[i].reshape(-1, 4))
        distance = (out[i, :, None, 2:] - decoded[None]).abs().amax(dim=-1)  # (rows, anchors)
        assert sorted(distance.argmin(dim=1).tolist()) == list(range(a)) and distance.min(dim=1).values.max() < 1e-6
        for c in range(classes):  # no two kept boxes of one class overlap by more than the NMS threshold
            same = out[i, :n][out[i, :n, 0] == c, 2:]
            iou = box_iou(same, same).fill_diagonal_(0)
            assert (iou <= 0.5).all()


# --- TinySSD --------------------------------------------------------------------------------------------


def test_the_books_blocks_and_prediction_layers_have_its_shapes():
    assert down_sample_blk(3, 10)(torch.zeros(2, 3, 20, 20)).shape == (2, 10, 10, 10)
    Y1, Y2 = cls_predictor(8, 5, 10)(torch.zeros(2, 8, 20, 20)), cls_predictor(16, 3, 10)(torch.zeros(2, 16, 10, 10))
    assert Y1.shape == (2, 55, 20, 20) and Y2.shape == (2, 33, 10, 10)
    assert concat_preds([Y1, Y2]).shape == (2, 25300)


def test_tinyssd_has_the_books_shapes_at_all_five_scales():
    torch.manual_seed(0)
    net = TinySSD(num_classes=1).eval()
    X = torch.zeros(1, 3, 256, 256)
    maps = []
    with torch.no_grad():
        for blk, cls, bbox in zip(net.blks, net.cls, net.bbox):
            X = blk(X)
            maps.append((tuple(X.shape[1:]), cls(X).shape[1], bbox(X).shape[1]))
    sides = [32, 16, 8, 4, 1]
    assert maps == [((c, s, s), 4 * 2, 4 * 4) for c, s in zip([64, 128, 128, 128, 128], sides)]
    assert sum(4 * s * s for s in sides) == 5444
    with torch.no_grad():
        anchors, cls_preds, bbox_preds = net(torch.zeros(32, 3, 256, 256))
    assert anchors.shape == (1, 5444, 4) and cls_preds.shape == (32, 5444, 2) and bbox_preds.shape == (32, 21776)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"sizes": [[0.2]] * 4}, "sizes must be 5"),
        ({"ratios": [[1, 2, 0]] * 5}, "ratios must be 5"),
        ({"num_classes": 0}, "num_classes"),
        ({"nms_threshold": 1.5}, "nms_threshold"),
        ({"score_threshold": -0.1}, "score_threshold"),
    ],
)
def test_bad_detector_hyperparameters_are_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TinySSD(**kwargs)


def test_other_anchor_shapes_give_each_scale_its_own_predictors():
    net = TinySSD(num_classes=2, sizes=[[0.2]] * 5, ratios=[[1]] * 4 + [[1, 2, 0.5]])
    anchors, cls_preds, bbox_preds = net(torch.zeros(2, 3, 64, 64))
    a = 8 * 8 + 4 * 4 + 2 * 2 + 1 + 1 * 3  # one anchor per pixel, three at the last scale
    assert anchors.shape == (1, a, 4) and cls_preds.shape == (2, a, 3) and bbox_preds.shape == (2, a * 4)


def book_calc_loss(cls_preds, cls_labels, bbox_preds, bbox_labels, bbox_masks):
    """Transcribed from the book's ``calc_loss`` (per-example), then ``l.mean()`` as its training loop."""
    batch_size, num_classes = cls_preds.shape[0], cls_preds.shape[2]
    cls = nn.CrossEntropyLoss(reduction="none")(cls_preds.reshape(-1, num_classes), cls_labels.reshape(-1))
    cls = cls.reshape(batch_size, -1).mean(dim=1)
    bbox = nn.L1Loss(reduction="none")(bbox_preds * bbox_masks, bbox_labels * bbox_masks).mean(dim=1)
    return (cls + bbox).mean()


@pytest.fixture
def banana_batch(tmp_path) -> tuple[torch.Tensor, torch.Tensor]:
    """Eight 64x64 fixture images with their targets, as the data module feeds them."""
    write_banana_set(tmp_path, n_train=8, n_val=2, size=64)
    data = Bananas(data_dir=str(tmp_path), image_size=64, batch_size=8)
    data.setup()
    return data.on_after_batch_transfer(next(iter(data.train_dataloader())), 0)


def test_the_loss_and_the_metrics_are_the_books(banana_batch):
    torch.manual_seed(0)
    images, targets = banana_batch
    net = TinySSD()
    anchors, cls_preds, bbox_preds = net(images)
    bbox_labels, bbox_masks, cls_labels = multibox_target(anchors, targets)
    assert bbox_masks.sum() > 0 and cls_labels.max() == 1
    terms = (cls_preds, cls_labels, bbox_preds, bbox_labels, bbox_masks)
    torch.testing.assert_close(net.anchor_loss(*terms), book_calc_loss(*terms))
    torch.testing.assert_close(net.loss((anchors, cls_preds, bbox_preds), targets), book_calc_loss(*terms))
    error = ClassError(2, average="micro")
    error(cls_preds.reshape(-1, 2), cls_labels.reshape(-1))
    book_error = 1 - float((cls_preds.argmax(dim=-1) == cls_labels).sum()) / cls_labels.numel()  # cls_eval
    assert error.compute().item() == pytest.approx(book_error)
    net.train_bbox_mae((bbox_preds * bbox_masks).detach(), bbox_labels * bbox_masks)
    book_sum = float((torch.abs((bbox_labels - bbox_preds.detach()) * bbox_masks)).sum())  # bbox_eval
    book_mae = book_sum / bbox_labels.numel()
    assert net.train_bbox_mae.compute().item() == pytest.approx(book_mae, rel=1e-5)


def test_the_loss_falls_on_a_tiny_fixture(banana_batch):
    torch.manual_seed(0)
    images, targets = banana_batch
    assert_loss_falls(TinySSD(), images, targets, steps=15, to=0.3)


# --- the banana data ------------------------------------------------------------------------------------


def test_bananas_reads_the_real_layout_and_decodes_images_only_when_asked(tmp_path, monkeypatch):
    folder = write_banana_set(tmp_path, n_train=6, n_val=3, size=64)
    decoded = []
    decode = bananas_module.decode_image
    monkeypatch.setattr(bananas_module, "decode_image", lambda *a, **k: decoded.append(a[0]) or decode(*a, **k))
    data = Bananas(data_dir=str(tmp_path), image_size=64, batch_size=4)
    data.setup()
    assert (len(data.train_set), len(data.val_set), data.num_classes, decoded) == (6, 3, 1, [])
    assert data.test_set is data.val_set and data.image_names == ["0.png", "1.png", "2.png"]
    images, targets = next(iter(data.val_dataloader()))
    assert images.dtype == torch.uint8 and images.shape == (3, 3, 64, 64) and len(decoded) == 3
    assert targets.shape == (3, 1, 5)
    rows = list(csv.reader((folder / "bananas_val" / "label.csv").open()))[1:]
    expected = torch.tensor([[[0.0] + [int(v) / 64 for v in row[2:]]] for row in rows])
    torch.testing.assert_close(targets, expected)
    x, y = data.on_after_batch_transfer((images, targets), 0)
    assert x.dtype == torch.float32 and x.max() > 200 and x.max() <= 255  # the book's pixel values
    box = (targets[0, 0, 1:] * 64).round().long().tolist()  # the fixture painted the box yellow
    assert x[0, 2, box[1] : box[3], box[0] : box[2]].eq(40).all()


def test_several_objects_per_image_are_padded_with_class_minus_1(tmp_path):
    folder = write_banana_set(tmp_path, n_train=3, n_val=2, size=32)
    label = folder / "bananas_train" / "label.csv"
    label.write_text(label.read_text() + "1.png,0,1,2,9,12\n")  # a second banana in image 1
    data = Bananas(data_dir=str(tmp_path), image_size=32, batch_size=3)
    data.setup()
    images, targets = next(iter(data.loader(data.train_set, shuffle=False)))
    assert targets.shape == (3, 2, 5)
    assert targets[[0, 2], 1].eq(-1).all() and targets[1, 1].tolist() == [0, 1 / 32, 2 / 32, 9 / 32, 12 / 32]


def test_workers_decode_the_same_batches(tmp_path):
    write_banana_set(tmp_path, n_train=4, n_val=4, size=32)
    batches = []
    for workers in (0, 1):
        data = Bananas(data_dir=str(tmp_path), image_size=32, batch_size=2, num_workers=workers)
        data.setup()
        batches.append(list(data.val_dataloader()))
    for (x0, y0), (x1, y1) in zip(*batches):
        assert torch.equal(x0, x1) and torch.equal(y0, y1)


@pytest.mark.parametrize(
    "row, message",
    [
        ("9.png,0,10,10,30,30", r"row 5 \(line 6\): the image .*images/9.png does not exist"),
        ("0.png,0,10,10,70,30", r"row 5 \(line 6\): box \['10', '10', '70', '30'\] lies outside the 64x64 image"),
        ("0.png,0,-1,10,30,30", r"row 5 \(line 6\): box .* lies outside"),
        ("0.png,0,10,10,30", r"row 5 \(line 6\): expected 6 fields .* found 5"),
        ("0.png,0,10,ten,30,30", r"row 5 \(line 6\): class and box must be numbers"),
        ("0.png,1,10,10,30,30", r"row 5 \(line 6\): class 1, but the data set has 1"),
        ("0.png,0,30,10,10,30", r"row 5 \(line 6\): box .* is empty"),
        ("../0.png,0,10,10,30,30", r"row 5 \(line 6\): '../0.png' is not an image file name"),
    ],
)
def test_a_bad_label_row_is_one_clear_error_naming_the_file_and_row(tmp_path, row, message):
    folder = write_banana_set(tmp_path, n_train=4, n_val=2, size=64)
    label = folder / "bananas_train" / "label.csv"
    label.write_text(label.read_text() + row + "\n")
    with pytest.raises(DataError, match=message) as err:
        Bananas(data_dir=str(tmp_path), image_size=64).setup()
    assert str(label) in str(err.value) and len(str(err.value).splitlines()) == 1


def test_a_bad_header_or_image_size_is_a_clear_error(tmp_path):
    folder = write_banana_set(tmp_path, n_train=2, n_val=2, size=64)
    with pytest.raises(DataError, match=r"0.png is 64x64, but its label rows are boxes in a 256x256 image"):
        data = Bananas(data_dir=str(tmp_path))  # boxes within 256, but the images are 64x64
        data.setup()
        next(iter(data.val_dataloader()))
    label = folder / "bananas_val" / "label.csv"
    label.write_text("name,label,xmin,ymin,xmax,ymax\n" + label.read_text().split("\n", 1)[1])
    with pytest.raises(DataError, match=rf"{label}, line 1: expected the header img_name,label"):
        Bananas(data_dir=str(tmp_path), image_size=64).setup()


def test_a_bad_label_row_on_the_command_line_is_one_error_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    folder = write_banana_set(tmp_path / "data", n_train=2, n_val=2, size=64)
    (folder / "bananas_val" / "images" / "1.png").unlink()
    with pytest.raises(SystemExit) as exit_info:
        run(
            ["fit", "--config", config("tinyssd"), "--data.data_dir", str(tmp_path / "data"), "--data.image_size", "64"]
        )
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "bananas_val/label.csv, row 2 (line 3)" in err and "1.png" in err
    assert len(err.splitlines()) == 1


def test_a_copy_with_only_some_validation_images_trains_on_them_when_asked(tmp_path, capsys):
    """The situation of the partial real copy: every label row, but images for a few validation rows only."""
    folder = tmp_path / Bananas.folder_name
    write_banana_split(folder / "bananas_train", 5, 32, seed=0)
    write_banana_split(folder / "bananas_val", 6, 32, seed=1)
    for i in (0, 2, 3, 5):
        (folder / "bananas_val" / "images" / f"{i}.png").unlink()
    for path in (folder / "bananas_train" / "images").iterdir():
        path.unlink()
    with pytest.raises(DataError, match="bananas_val/label.csv, row 1 .* does not exist"):
        Bananas(data_dir=str(tmp_path), image_size=32).setup()  # strict by default
    with pytest.raises(DataError, match="bananas_train/label.csv: no label rows with their images"):
        Bananas(data_dir=str(tmp_path), image_size=32, missing_images="skip").setup()
    data = Bananas(data_dir=str(tmp_path), image_size=32, missing_images="skip", train_split="val")
    data.setup()
    assert data.train_set is data.val_set and data.image_names == ["1.png", "4.png"]
    assert "left out 4 rows whose image is missing, kept 2" in capsys.readouterr().out
    with pytest.raises(ValueError, match="train_split must be one of"):
        Bananas(train_split="test")


def test_the_archive_is_hash_checked_downloaded_from_a_mirror_and_unpacked(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    archive = zip_banana_set(write_banana_set(tmp_path / "source", 2, 2, size=32), mirror / "banana-detection.zip")
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr("__MACOSX/banana-detection/._label.csv", "resource fork")  # a stray member: skipped
    remote = use_banana_archive(monkeypatch, mirror / "banana-detection.zip")
    data_dir = tmp_path / "data"
    data = Bananas(data_dir=str(data_dir), image_size=32, mirror=str(mirror))
    data.prepare_data()
    assert (data_dir / "banana-detection.zip").is_file()
    assert (data_dir / "banana-detection/bananas_val/images/1.png").is_file()
    data.setup()
    assert len(data.train_set) == 2 and not (data_dir / ".banana-detection.partial").exists()
    assert sorted(p.name for p in data_dir.iterdir()) == ["banana-detection", "banana-detection.zip"]
    # a corrupt archive is never used, even with the unpacked folder beside it
    (data_dir / "banana-detection.zip").write_bytes(b"not the archive")
    with pytest.raises(DataError, match="corrupt") as err:
        Bananas(data_dir=str(data_dir), image_size=32).setup()
    assert remote.known_hash in str(err.value)


def test_no_data_offline_names_the_archive_its_hash_and_the_folder(tmp_path):
    with pytest.raises(DataError) as err:
        Bananas(data_dir=str(tmp_path / "empty"), download=False).prepare_data()
    message = str(err.value)
    assert "banana-detection.zip" in message and "sha1:5de26c8fce5ccdea9f91267273464dc968d20d72" in message
    assert str(tmp_path / "empty") in message and "bananas_train,bananas_val" in message


# --- mAP ------------------------------------------------------------------------------------------------


def test_map_inputs_are_pixel_boxes_without_padding():
    detections = [torch.tensor([[0.0, 0.9, 0.1, 0.2, 0.5, 0.6]]), torch.zeros(0, 6)]
    targets = torch.tensor([[[0.0, 0.1, 0.2, 0.5, 0.5]], [[-1.0, 0, 0, 0, 0]]])
    preds, truth = map_inputs(detections, targets, height=100, width=200)
    torch.testing.assert_close(preds[0]["boxes"], torch.tensor([[20.0, 20.0, 100.0, 60.0]]))
    assert preds[0]["labels"].tolist() == [0] and preds[0]["scores"].tolist() == [pytest.approx(0.9)]
    torch.testing.assert_close(truth[0]["boxes"], torch.tensor([[20.0, 20.0, 100.0, 50.0]]))
    assert preds[1]["boxes"].shape == (0, 4) and truth[1]["boxes"].shape == (0, 4) and truth[1]["labels"].numel() == 0


@pytest.mark.skipif(map_backend() is None, reason="needs pycocotools or faster-coco-eval (the detection extra)")
def test_map_is_1_for_perfect_detections_and_falls_for_misplaced_ones():
    from torchmetrics.detection import MeanAveragePrecision

    targets = torch.tensor([[[0.0, 0.1, 0.1, 0.5, 0.5]], [[0.0, 0.5, 0.5, 0.9, 0.8]]])
    perfect = [torch.cat([torch.tensor([t[0, 0], 0.95]), t[0, 1:]]).unsqueeze(0) for t in targets]
    metric = MeanAveragePrecision(box_format="xyxy", backend=map_backend())
    metric.update(*map_inputs(perfect, targets, 256, 256))
    assert metric.compute()["map"].item() == pytest.approx(1.0)
    misplaced = [p.clone() for p in perfect]
    misplaced[1][0, 2:] = torch.tensor([0.0, 0.0, 0.2, 0.2])
    metric.reset()
    metric.update(*map_inputs(misplaced, targets, 256, 256))
    assert metric.compute()["map"].item() == pytest.approx(0.5, abs=0.01)


class RecordingMAP(torchmetrics.Metric):
    """Stands in for torchmetrics' MeanAveragePrecision: records what the detector hands it."""

    calls: list = []

    def __init__(self, **kwargs) -> None:
        super().__init__()
        self.add_state("images", torch.tensor(0.0), dist_reduce_fx="sum")

    def update(self, preds: list[dict], target: list[dict]) -> None:
        RecordingMAP.calls.append((preds, target))
        self.images += len(preds)

    def compute(self) -> dict:
        return {"map": self.images / 100, "map_50": self.images / 50}


def test_the_map_metric_gets_each_validation_batch_and_is_logged_per_epoch(tmp_path, monkeypatch):
    """The detector's mAP wiring, with a stand-in for the COCO backend (so it runs without one too)."""
    import torchmetrics.detection

    import zoo.core.detection

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(zoo.core.detection, "map_backend", lambda: "pycocotools")
    monkeypatch.setattr(torchmetrics.detection, "MeanAveragePrecision", RecordingMAP)
    RecordingMAP.calls = []
    cli = fit_tiny(tmp_path, "--trainer.max_epochs", "1", "--trainer.num_sanity_val_steps", "0")
    metrics = cli.trainer.callback_metrics
    assert float(metrics["val/map"]) == pytest.approx(0.04) and float(metrics["val/map_50"]) == pytest.approx(0.08)
    assert len(RecordingMAP.calls) == 1  # one validation batch of 4 images, reset after the epoch
    preds, target = RecordingMAP.calls[0]
    assert len(preds) == len(target) == 4 and set(preds[0]) == {"boxes", "scores", "labels"}
    assert all(p["boxes"].max() <= 64 and p["scores"].min() >= 0.01 for p in preds if len(p["boxes"]))
    rows = list(csv.reader((tmp_path / "data/banana-detection/bananas_val/label.csv").open()))[1:]
    expected = torch.tensor([[float(v) for v in row[2:]] for row in rows])
    torch.testing.assert_close(torch.cat([t["boxes"] for t in target]), expected)  # the label rows, in pixels


def fit_tiny(tmp_path: Path, *flags: str):
    """Fit TinySSD through the CLI on 8 + 4 fixture images of 64x64; the CLI object."""
    write_banana_set(tmp_path / "data", n_train=8, n_val=4, size=64)
    data = ["--data.data_dir", str(tmp_path / "data"), "--data.image_size", "64", "--data.batch_size", "4"]
    return run(["fit", "--config", config("tinyssd"), *data, "--trainer.enable_model_summary", "false", *flags])


def test_fit_logs_the_books_metrics_and_map_when_a_backend_is_there(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    cli = fit_tiny(tmp_path, "--trainer.max_epochs", "1")
    metrics = cli.trainer.callback_metrics
    books = {f"{stage}/{name}" for stage in ("train", "val") for name in ("loss", "class_err", "bbox_mae")}
    assert books <= set(metrics)
    assert 0 <= float(metrics["val/class_err"]) < 1
    out = capsys.readouterr().out
    if map_backend() is None:
        assert "val/map" not in metrics and out.count("note: mAP (val/map, test/map and their map_50) is not") == 1
    else:
        assert 0 <= float(metrics["val/map"]) <= 1 and "val/map_50" in metrics and "note: mAP" not in out


def test_a_checkpoint_alone_predicts_and_draws(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    fit_tiny(tmp_path, "--trainer.max_epochs", "2")
    ckpt = sorted(tmp_path.glob("lightning_logs/version_*/checkpoints/last.ckpt"))[-1]
    capsys.readouterr()
    cli = run(["predict", "--ckpt_path", str(ckpt), "--model.score_threshold", "0.3", "--model.max_drawn", "3"])
    assert type(cli.model) is TinySSD and cli.model.hparams.score_threshold == 0.3
    out = capsys.readouterr().out
    written = [Path(line.split("wrote ", 1)[1]) for line in out.splitlines() if line.startswith("wrote ")]
    assert [p.name for p in written] == ["detections.csv", "0.png", "1.png", "2.png"]  # max_drawn images drawn
    rows = list(csv.DictReader(written[0].open()))
    assert list(rows[0]) == ["image", "class", "class_name", "score", "xmin", "ymin", "xmax", "ymax"]
    assert {r["image"] for r in rows} <= {"0.png", "1.png", "2.png", "3.png"}
    assert {r["class_name"] for r in rows} == {"banana"}
    assert all(float(r["score"]) >= 0.3 and 0 <= float(r["xmin"]) < float(r["xmax"]) <= 64 for r in rows)
    from torchvision.io import read_image

    assert read_image(str(written[1])).shape[0] in (3, 4)  # a real PNG
    # in Python, from the checkpoint alone
    model = TinySSD.load_from_checkpoint(ckpt)
    assert isinstance(model, Detector) and model.hparams.num_classes == 1
    detected = model.detect(torch.rand(2, 3, 64, 64) * 255, score_threshold=0.0)
    assert len(detected) == 2 and all(d.shape[1] == 6 and (d[:, 0] == 0).all() for d in detected)
