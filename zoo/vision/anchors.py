"""Anchor boxes (book sections "Object Detection and Bounding Boxes" and "Anchor Boxes"): the pieces the book
writes by hand, over ``torchvision.ops`` for what it does not teach (box format conversion, IoU, NMS).

Boxes are ``(xmin, ymin, xmax, ymax)`` ("xyxy", the book's corner format) in coordinates scaled to [0, 1] by the
image's width and height. A batch of ground truth is ``(N, max_objects, 5)``: class, then the box; rows of
class -1 pad images with fewer objects.

Written by hand, as the book does (and marked "book:" below): generating anchors (:func:`multibox_prior`),
assigning ground truth to anchors (:func:`assign_anchor_to_bbox`), the offset transform and its inverse
(:func:`offset_boxes`, :func:`offset_inverse`), labelling anchors for training (:func:`multibox_target`) and
turning predictions into detections (:func:`multibox_detection`).
"""

from __future__ import annotations

import torch
from torchvision.ops import batched_nms, box_convert, box_iou

# The offset transform's scalings: centre offsets in units of 0.1 anchor sides, log sizes in units of 0.2.
CENTER_SCALE, SIZE_SCALE = 0.1, 0.2


# --- anchor boxes ------------------------------------------------------------------------------------


def multibox_prior(data: torch.Tensor, sizes: list[float], ratios: list[float]) -> torch.Tensor:
    """Book: anchors centred on every pixel of `data`'s (..., h, w) feature map; shape (1, h * w * (n + m - 1), 4).

    Each pixel gets the n + m - 1 anchors the book uses: every size with the first ratio, then the first size with
    every other ratio (sizes are fractions of the image's side, a ratio is width / height). Anchors are ordered
    pixel by pixel, row-major, and by that list within a pixel.
    """
    in_height, in_width = data.shape[-2:]
    device = data.device
    size_tensor = torch.tensor(sizes, dtype=torch.float32, device=device)
    ratio_tensor = torch.tensor(ratios, dtype=torch.float32, device=device)
    boxes_per_pixel = len(sizes) + len(ratios) - 1
    # pixel centres, scaled to [0, 1]
    center_h = (torch.arange(in_height, device=device) + 0.5) / in_height
    center_w = (torch.arange(in_width, device=device) + 0.5) / in_width
    shift_y, shift_x = torch.meshgrid(center_h, center_w, indexing="ij")
    shift_y, shift_x = shift_y.reshape(-1), shift_x.reshape(-1)
    # widths and heights of the n + m - 1 shapes; widths scaled by h / w so that a ratio-1 anchor is square
    w = torch.cat((size_tensor * torch.sqrt(ratio_tensor[0]), size_tensor[0] * torch.sqrt(ratio_tensor[1:])))
    w = w * in_height / in_width
    h = torch.cat((size_tensor / torch.sqrt(ratio_tensor[0]), size_tensor[0] / torch.sqrt(ratio_tensor[1:])))
    half_sizes = torch.stack((-w, -h, w, h)).T.repeat(in_height * in_width, 1) / 2
    centres = torch.stack([shift_x, shift_y, shift_x, shift_y], dim=1).repeat_interleave(boxes_per_pixel, dim=0)
    return (centres + half_sizes).unsqueeze(0)


# --- labelling anchors for training ----------------------------------------------------------------------


def assign_anchor_to_bbox(ground_truth: torch.Tensor, anchors: torch.Tensor, iou_threshold: float = 0.5):
    """Book: the ground-truth box each anchor is assigned, -1 for none; ground_truth (g, 4), anchors (a, 4).

    First every anchor whose largest IoU with a ground-truth box is at least `iou_threshold` takes that box; then,
    greedily, the largest remaining IoU of the whole anchor x box table assigns its pair, and that anchor's row and
    box's column leave the table, until every ground-truth box has its own anchor (so each box gets at least one,
    however small its IoUs).
    """
    num_anchors, num_gt_boxes = anchors.shape[0], ground_truth.shape[0]
    anchors_bbox_map = torch.full((num_anchors,), -1, dtype=torch.long, device=anchors.device)
    if num_gt_boxes == 0:
        return anchors_bbox_map
    jaccard = box_iou(anchors, ground_truth)  # (a, g)
    max_ious, indices = torch.max(jaccard, dim=1)
    above = max_ious >= iou_threshold
    anchors_bbox_map[above] = indices[above]
    for _ in range(min(num_gt_boxes, num_anchors)):
        max_idx = torch.argmax(jaccard)
        anc_idx, box_idx = max_idx // num_gt_boxes, max_idx % num_gt_boxes
        anchors_bbox_map[anc_idx] = box_idx
        jaccard[:, box_idx] = -1
        jaccard[anc_idx, :] = -1
    return anchors_bbox_map


def offset_boxes(anchors: torch.Tensor, assigned_bb: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Book: the offsets of boxes from their anchors, (a, 4) each -> (a, 4).

    Centre offsets in units of 0.1 anchor sides, ``(x_b - x_a) / (0.1 w_a)``, and log size ratios in units of 0.2,
    ``log(w_b / w_a) / 0.2`` (the book's 10 and 5); `eps` keeps the log finite for empty boxes.
    """
    c_anc = box_convert(anchors, "xyxy", "cxcywh")
    c_assigned_bb = box_convert(assigned_bb, "xyxy", "cxcywh")
    offset_xy = (c_assigned_bb[:, :2] - c_anc[:, :2]) / c_anc[:, 2:] / CENTER_SCALE
    offset_wh = torch.log(eps + c_assigned_bb[:, 2:] / c_anc[:, 2:]) / SIZE_SCALE
    return torch.cat([offset_xy, offset_wh], dim=1)


def offset_inverse(anchors: torch.Tensor, offset_preds: torch.Tensor) -> torch.Tensor:
    """Book: boxes from anchors and their predicted offsets, (a, 4) each; inverts :func:`offset_boxes`."""
    anc = box_convert(anchors, "xyxy", "cxcywh")
    pred_xy = offset_preds[:, :2] * CENTER_SCALE * anc[:, 2:] + anc[:, :2]
    pred_wh = torch.exp(offset_preds[:, 2:] * SIZE_SCALE) * anc[:, 2:]
    return box_convert(torch.cat((pred_xy, pred_wh), dim=1), "cxcywh", "xyxy")


def multibox_target(
    anchors: torch.Tensor, labels: torch.Tensor, iou_threshold: float = 0.5
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Book: label anchors (1, a, 4) with a batch's ground truth (N, max_objects, 5) for training.

    Returns ``(bbox_offset, bbox_mask, class_labels)``: the offsets of each anchor's assigned box, (N, a * 4), 0
    where none is assigned; the mask that keeps only assigned anchors' offsets, (N, a * 4); and each anchor's
    class, (N, a), 0 for background and ``c + 1`` for object class c. Rows of class -1 (padding) are ignored.
    """
    anchors = anchors.squeeze(0)
    batch_offset, batch_mask, batch_class_labels = [], [], []
    num_anchors = anchors.shape[0]
    for label in labels:
        label = label[label[:, 0] >= 0]  # drop padding rows
        anchors_bbox_map = assign_anchor_to_bbox(label[:, 1:], anchors, iou_threshold)
        assigned = anchors_bbox_map >= 0
        bbox_mask = assigned.to(anchors.dtype).unsqueeze(-1).repeat(1, 4)
        class_labels = torch.zeros(num_anchors, dtype=torch.long, device=anchors.device)
        offset = torch.zeros((num_anchors, 4), dtype=anchors.dtype, device=anchors.device)
        bb_idx = anchors_bbox_map[assigned]
        class_labels[assigned] = label[bb_idx, 0].long() + 1
        offset[assigned] = offset_boxes(anchors[assigned], label[bb_idx, 1:].to(anchors.dtype))
        batch_offset.append(offset.reshape(-1))
        batch_mask.append(bbox_mask.reshape(-1))
        batch_class_labels.append(class_labels)
    return torch.stack(batch_offset), torch.stack(batch_mask), torch.stack(batch_class_labels)


# --- predicting boxes -------------------------------------------------------------------------------------


def multibox_detection(
    cls_probs: torch.Tensor,
    offset_preds: torch.Tensor,
    anchors: torch.Tensor,
    nms_threshold: float = 0.5,
    pos_threshold: float = 0.01,
) -> torch.Tensor:
    """Book: detections from class probabilities (N, classes + 1, a), offsets (N, a * 4) and anchors (1, a, 4).

    Each anchor's box is decoded from its offsets and takes its most likely object class (background excluded)
    and that probability as its score; non-maximum suppression at `nms_threshold` (``torchvision.ops.batched_nms``,
    per class) keeps the best of overlapping boxes. Returns (N, a, 6) rows ``(class, score, xmin, ymin, xmax,
    ymax)``: the kept boxes first, best first, then the suppressed ones with class -1, as the book's output; a kept
    box scoring below `pos_threshold` is background too (class -1, score 1 - score).

    The book suppresses across classes (one NMS over every box); with one object class, as the banana set, the
    two are the same. Per class, boxes of different classes never suppress each other.
    """
    anchors = anchors.squeeze(0)
    num_anchors = anchors.shape[0]
    out = []
    for cls_prob, offset_pred in zip(cls_probs, offset_preds):
        conf, class_id = torch.max(cls_prob[1:], 0)
        predicted_bb = offset_inverse(anchors, offset_pred.reshape(-1, 4))
        keep = batched_nms(predicted_bb, conf, class_id, nms_threshold)
        keep = keep.sort().values  # ties: lower anchor index first, as the book's stable order
        keep = keep[torch.sort(conf[keep], descending=True, stable=True).indices]
        suppressed = torch.ones(num_anchors, dtype=torch.bool, device=conf.device)
        suppressed[keep] = False
        order = torch.cat((keep, torch.nonzero(suppressed).reshape(-1)))
        class_id = torch.where(suppressed, -1, class_id)[order].to(conf.dtype)
        conf, predicted_bb = conf[order], predicted_bb[order]
        below = conf < pos_threshold
        class_id[below] = -1
        conf = torch.where(below, 1 - conf, conf)
        out.append(torch.cat((class_id.unsqueeze(1), conf.unsqueeze(1), predicted_bb), dim=1))
    return torch.stack(out)
