"""DB (differentiable binarisation) text detection: pre- and post-processing in numpy.

The detector is a PP-OCR DB network: it maps an image to a per-pixel probability that
the pixel lies in (the shrunk core of) a text line. Post-processing here follows DB's
recipe with axis-aligned boxes: threshold the map, find connected components, score
each by its mean probability, grow ("unclip") its box by ``area * ratio / perimeter``
(the shrink the network was trained to undo) and drop tiny or unsure boxes.
Connected components are labelled from horizontal runs of pixels, all in numpy (no
per-pixel Python loop), so no OpenCV, shapely or pyclipper is needed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from PIL import Image

# PP-OCR detection preprocessing (ImageNet statistics, applied to BGR channels as
# PaddleOCR does after cv2.imread).
_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32) * 255
_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32) * 255
_TABLES = (np.arange(256, dtype=np.float32)[np.newaxis] - _MEAN[:, np.newaxis]) / _STD[:, np.newaxis]
_STRIDE = 32  # the network's input sides must be multiples of this

BINARY_THRESHOLD = 0.3  # probability above which a pixel is text (DB's default)
BOX_THRESHOLD = 0.6  # mean probability a component needs to be kept (DB's default)
UNCLIP_RATIO = 1.5  # DB's default
MIN_BOX_SIDE = 3  # px of the probability map: smaller components are noise
# Share of its box a component must fill. Text cores are solid bars (fill 0.6-0.9);
# rims, rings and other curves make sparse components whose box spans half the photo
# (a coffee cup's rim: 0.04). Lines slanted by more than ~15 degrees fall below it too;
# their axis-aligned crops would not be readable anyway.
MIN_FILL = 0.15
MAX_BOXES = 200


@dataclass(frozen=True)
class TextBox:
    """An axis-aligned text box in pixels of the image given to :func:`prepare`
    (``left``/``top`` inclusive, ``right``/``bottom`` exclusive) and its mean
    text probability ``score`` (0..1)."""

    left: int
    top: int
    right: int
    bottom: int
    score: float

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top


def prepare(image: Image.Image) -> np.ndarray:
    """A float32 (1, 3, H, W) BGR batch for the detector: ``image`` (RGB) resized so
    both sides are multiples of 32 (nearest, at least 32), normalised."""
    from PIL import Image as PILImage

    width, height = image.size
    target = (max(_STRIDE, round(width / _STRIDE) * _STRIDE), max(_STRIDE, round(height / _STRIDE) * _STRIDE))
    if target != image.size:
        image = image.resize(target, PILImage.Resampling.BILINEAR)
    pixels = np.asarray(image.convert("RGB"))
    batch = np.empty((1, 3, target[1], target[0]), dtype=np.float32)
    for plane, channel in enumerate((2, 1, 0)):  # BGR planes, through a 256-entry table each
        np.take(_TABLES[plane], pixels[:, :, channel], out=batch[0, plane])
    return batch


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Horizontal runs of True in a 2-D mask: (row, start, end) with end exclusive,
    ordered by row then start."""
    padded = np.zeros((mask.shape[0], mask.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    edges = np.diff(padded, axis=1)
    rows_s, starts = np.nonzero(edges == 1)
    _, ends = np.nonzero(edges == -1)
    return rows_s, starts, ends


def label_runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """8-connected components of ``mask`` as runs: (row, start, end, label) per run,
    labels 0..n-1. Runs in adjacent rows that touch (diagonally included) are joined
    by vectorised min-label propagation with pointer jumping."""
    rows, starts, ends = _runs(mask)
    count = rows.size
    if count == 0:
        return rows, starts, ends, np.zeros(0, dtype=np.intp)
    span = mask.shape[1] + 2
    start_keys = rows * span + starts
    end_keys = rows * span + ends
    # Runs of the next row that touch run i (8-connected): start_j <= end_i and end_j >= start_i.
    first = np.searchsorted(end_keys, (rows + 1) * span + starts, side="left")
    last = np.searchsorted(start_keys, (rows + 1) * span + ends, side="right")
    width = np.maximum(last - first, 0)
    a = np.repeat(np.arange(count), width)
    offsets = np.arange(a.size) - np.repeat(np.cumsum(width) - width, width)
    b = np.repeat(first, width) + offsets
    labels = np.arange(count)
    while True:
        low = np.minimum(labels[a], labels[b])
        updated = labels.copy()
        np.minimum.at(updated, a, low)
        np.minimum.at(updated, b, low)
        updated = updated[updated]
        while True:  # pointer jumping: every run points at its root
            jumped = updated[updated]
            if np.array_equal(jumped, updated):
                break
            updated = jumped
        if np.array_equal(updated, labels):
            break
        labels = updated
    _, dense = np.unique(labels, return_inverse=True)
    return rows, starts, ends, dense.reshape(-1)


def boxes_from_map(
    probability: np.ndarray,
    scale_x: float = 1.0,
    scale_y: float = 1.0,
    binary_threshold: float = BINARY_THRESHOLD,
    box_threshold: float = BOX_THRESHOLD,
    unclip_ratio: float = UNCLIP_RATIO,
) -> list[TextBox]:
    """Text boxes from a 2-D probability map (H, W), scaled by ``scale_x``/``scale_y``
    into the caller's pixels and clipped to the map's extent there; most probable first.
    Components smaller than MIN_BOX_SIDE, filling less than MIN_FILL of their box or
    scoring below ``box_threshold`` are dropped."""
    height, width = probability.shape
    rows, starts, ends, labels = label_runs(probability > binary_threshold)
    if labels.size == 0:
        return []
    n = int(labels.max()) + 1
    lengths = ends - starts
    top = np.full(n, height, dtype=np.int64)
    bottom = np.zeros(n, dtype=np.int64)
    left = np.full(n, width, dtype=np.int64)
    right = np.zeros(n, dtype=np.int64)
    np.minimum.at(top, labels, rows)
    np.maximum.at(bottom, labels, rows + 1)
    np.minimum.at(left, labels, starts)
    np.maximum.at(right, labels, ends)
    # Mean probability over each component's pixels.
    pixel_runs = np.repeat(np.arange(rows.size), lengths)
    columns = np.repeat(starts, lengths) + (
        np.arange(pixel_runs.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    )
    values = probability[rows[pixel_runs], columns]
    area = np.bincount(labels, weights=lengths, minlength=n)
    score = np.bincount(labels[pixel_runs], weights=values, minlength=n) / np.maximum(area, 1)
    box_w = (right - left).astype(np.float64)
    box_h = (bottom - top).astype(np.float64)
    fill = area / np.maximum(box_w * box_h, 1)
    keep = (np.minimum(box_w, box_h) >= MIN_BOX_SIDE) & (score >= box_threshold) & (fill >= MIN_FILL)
    grow = box_w * box_h * unclip_ratio / np.maximum(2 * (box_w + box_h), 1)
    found = []
    for i in np.flatnonzero(keep):
        x0 = max(0.0, (left[i] - grow[i]) * scale_x)
        y0 = max(0.0, (top[i] - grow[i]) * scale_y)
        x1 = min(width * scale_x, (right[i] + grow[i]) * scale_x)
        y1 = min(height * scale_y, (bottom[i] + grow[i]) * scale_y)
        box = TextBox(int(np.floor(x0)), int(np.floor(y0)), int(np.ceil(x1)), int(np.ceil(y1)), float(score[i]))
        if box.width >= 1 and box.height >= 1:
            found.append(box)
    found.sort(key=lambda b: -b.score)
    return found[:MAX_BOXES]


def reading_order(boxes: list[TextBox]) -> list[TextBox]:
    """Boxes in reading order: top to bottom by lines, left to right within a line.
    A box joins the current line when its vertical centre lies inside the line's
    first box's vertical extent."""
    ordered: list[TextBox] = []
    line: list[TextBox] = []
    for box in sorted(boxes, key=lambda b: (b.top + b.bottom) / 2):
        centre = (box.top + box.bottom) / 2
        if line and not line[0].top <= centre <= line[0].bottom:
            ordered.extend(sorted(line, key=lambda b: b.left))
            line = []
        line.append(box)
    ordered.extend(sorted(line, key=lambda b: b.left))
    return ordered
