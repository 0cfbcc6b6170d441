"""PP-OCR (SVTR/CRNN-style) line recognition: crops to a batch, CTC greedy decoding.

Each detected box is cropped from the image, scaled to the model's height (48 px)
keeping its aspect ratio, normalised to [-1, 1] in BGR order (as PaddleOCR trains it),
and right-padded with zeros to the widest crop of its batch. The network outputs, per
horizontal step, probabilities over [blank] + the dictionary's characters + " ";
greedy CTC keeps each step's best class, collapses repeats and drops blanks.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from PIL import Image

    from .detect import TextBox

INPUT_HEIGHT = 48  # px, the models' fixed input height
MAX_WIDTH = 48 * 20  # px: longer lines are squeezed (PP-OCR squeezes beyond its batch width too)
BATCH_SIZE = 8


@dataclass(frozen=True)
class ReadLine:
    """One recognised line: its text (as read, may be empty) and the mean probability
    of its characters (0..1; 0 for an empty line)."""

    text: str
    score: float


def crop_width(box: TextBox) -> int:
    """Width in px of ``box`` once scaled to :data:`INPUT_HEIGHT` (at most MAX_WIDTH)."""
    return max(1, min(MAX_WIDTH, int(np.ceil(INPUT_HEIGHT * box.width / max(1, box.height)))))


def prepare_batch(image: Image.Image, boxes: Sequence[TextBox]) -> np.ndarray:
    """A float32 (N, 3, 48, W) BGR batch of the crops, W = the widest crop."""
    from PIL import Image as PILImage

    widths = [crop_width(box) for box in boxes]
    batch = np.zeros((len(boxes), 3, INPUT_HEIGHT, max(widths)), dtype=np.float32)
    for i, (box, width) in enumerate(zip(boxes, widths, strict=True)):
        crop = image.crop((box.left, box.top, box.right, box.bottom)).resize(
            (width, INPUT_HEIGHT), PILImage.Resampling.BILINEAR
        )
        pixels = np.asarray(crop, dtype=np.float32)[:, :, ::-1] / 127.5 - 1.0
        batch[i, :, :, :width] = pixels.transpose(2, 0, 1)
    return batch


def ctc_greedy(probabilities: np.ndarray, characters: Sequence[str]) -> list[ReadLine]:
    """Decode (N, T, C) per-step class probabilities; class 0 is the CTC blank and
    class k >= 1 is ``characters[k - 1]``."""
    best = probabilities.argmax(axis=2)
    confidence = probabilities.max(axis=2)
    lines = []
    for classes, scores in zip(best, confidence, strict=True):
        keep = classes != 0
        keep[1:] &= classes[1:] != classes[:-1]
        picked = classes[keep]
        text = "".join(characters[k - 1] for k in picked if k - 1 < len(characters))
        lines.append(ReadLine(text, float(scores[keep].mean()) if picked.size else 0.0))
    return lines
