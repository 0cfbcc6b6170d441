"""DB post-processing in numpy: connected components, boxes, reading order."""
from __future__ import annotations

from collections import deque

import numpy as np
import pytest

from tagging.core.text import detect
from tagging.core.text.detect import TextBox


def _reference_components(mask: np.ndarray) -> int:
    """8-connected component count by breadth-first search (slow, obviously right)."""
    seen = np.zeros_like(mask, dtype=bool)
    count = 0
    for y, x in zip(*np.nonzero(mask), strict=True):
        if seen[y, x]:
            continue
        count += 1
        queue = deque([(y, x)])
        seen[y, x] = True
        while queue:
            cy, cx = queue.popleft()
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    ny, nx = cy + dy, cx + dx
                    if 0 <= ny < mask.shape[0] and 0 <= nx < mask.shape[1] and mask[ny, nx] and not seen[ny, nx]:
                        seen[ny, nx] = True
                        queue.append((ny, nx))
    return count


def _pixel_labels(mask: np.ndarray) -> np.ndarray:
    rows, starts, ends, labels = detect.label_runs(mask)
    out = np.full(mask.shape, -1)
    for r, s, e, label in zip(rows, starts, ends, labels, strict=True):
        out[r, s:e] = label
    return out


@pytest.mark.parametrize("seed", range(12))
def test_components_match_a_breadth_first_search_on_random_masks(seed):
    rng = np.random.default_rng(seed)
    mask = rng.random((40, 57)) < (0.35 + 0.03 * seed)
    labels = _pixel_labels(mask)
    assert (labels >= 0).sum() == mask.sum()
    assert len(np.unique(labels[mask])) == _reference_components(mask)
    # Every pair of 8-neighbours in the mask shares a label.
    for dy, dx in ((0, 1), (1, -1), (1, 0), (1, 1)):
        a = labels[max(0, -dy) : labels.shape[0] - max(0, dy), max(0, -dx) : labels.shape[1] - max(0, dx)]
        b = labels[max(0, dy) :, max(0, dx) : labels.shape[1] + min(0, dx) or None]
        both = (a >= 0) & (b >= 0)
        assert np.array_equal(a[both], b[both])


def test_a_spiral_needs_many_propagation_rounds_and_is_one_component():
    mask = np.zeros((31, 31), dtype=bool)
    top, left, bottom, right = 0, 0, 30, 30
    while top <= bottom and left <= right:
        mask[top, left : right + 1] = True
        mask[top : bottom + 1, right] = True
        mask[bottom, left : right + 1] = True
        mask[top + 2 : bottom + 1, left] = True
        if top + 2 <= bottom:
            mask[top + 2, left : right - 1] = True
        top, left, bottom, right = top + 4, left + 2, bottom - 2, right - 2
    assert _reference_components(mask) == len(np.unique(_pixel_labels(mask)[mask]))


def test_empty_map_gives_no_boxes():
    assert detect.boxes_from_map(np.zeros((64, 96), dtype=np.float32)) == []


def test_boxes_are_unclipped_scored_and_filtered():
    probability = np.zeros((100, 200), dtype=np.float32)
    probability[20:30, 40:140] = 0.9  # a line: kept
    probability[60:70, 10:60] = 0.45  # above the binary threshold, below the box score: dropped
    probability[80:82, 150:190] = 0.95  # 2 px tall: too thin, dropped
    boxes = detect.boxes_from_map(probability, scale_x=2.0, scale_y=2.0)
    assert len(boxes) == 1
    box = boxes[0]
    grow = 100 * 10 * detect.UNCLIP_RATIO / (2 * (100 + 10))  # DB's offset: area * ratio / perimeter
    assert box.left == int(np.floor((40 - grow) * 2)) and box.right == int(np.ceil((140 + grow) * 2))
    assert box.top == int(np.floor((20 - grow) * 2)) and box.bottom == int(np.ceil((30 + grow) * 2))
    assert box.score == pytest.approx(0.9, abs=1e-6)


def test_boxes_are_clipped_to_the_image():
    probability = np.zeros((50, 50), dtype=np.float32)
    probability[0:10, 0:50] = 0.8
    (box,) = detect.boxes_from_map(probability)
    assert (box.left, box.top, box.right) == (0, 0, 50)


def test_reading_order_is_lines_top_down_then_left_to_right():
    a = TextBox(200, 10, 300, 30, 0.9)  # first line, right
    b = TextBox(10, 12, 150, 32, 0.9)  # first line, left, a little lower
    c = TextBox(10, 60, 120, 80, 0.9)  # second line
    assert detect.reading_order([c, a, b]) == [b, a, c]


def test_prepare_gives_normalised_bgr_planes_in_multiples_of_32():
    from PIL import Image

    image = Image.new("RGB", (100, 70), (255, 0, 0))
    batch = detect.prepare(image)
    assert batch.shape == (1, 3, 64, 96) and batch.dtype == np.float32
    # Red is the last (R) plane in BGR order: (255 - 0.406 * 255) / (0.225 * 255).
    assert batch[0, 2].mean() == pytest.approx((1 - 0.406) / 0.225, rel=1e-4)
    assert batch[0, 0].mean() == pytest.approx((0 - 0.485) / 0.229, rel=1e-4)
