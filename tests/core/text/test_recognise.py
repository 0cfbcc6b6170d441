"""CTC greedy decoding, recognition crops and searchable words."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tagging.core.text import recognise, searchable_words
from tagging.core.text.detect import TextBox


def _steps(classes: list[int], n_classes: int, p: float = 0.9) -> np.ndarray:
    out = np.full((len(classes), n_classes), (1 - p) / (n_classes - 1), dtype=np.float32)
    out[np.arange(len(classes)), classes] = p
    return out


def test_ctc_collapses_repeats_drops_blanks_and_keeps_doubled_letters_split_by_a_blank():
    characters = ["a", "b", "l", "o", " "]
    # blank=0, a=1, b=2, l=3, o=4, space=5: "b a l l o" with a blank between the two l's
    steps = [2, 2, 0, 1, 1, 3, 0, 3, 3, 4, 0, 5, 1]
    (line,) = recognise.ctc_greedy(_steps(steps, 6)[np.newaxis], characters)
    assert line.text == "ballo a"
    assert line.score == pytest.approx(0.9)


def test_ctc_of_all_blanks_is_empty_with_score_zero():
    (line,) = recognise.ctc_greedy(_steps([0, 0, 0], 4)[np.newaxis], ["x", "y", " "])
    assert line == recognise.ReadLine("", 0.0)


def test_crops_are_48_px_high_padded_to_the_widest():
    image = Image.new("RGB", (400, 100), (255, 255, 255))
    boxes = [TextBox(0, 0, 200, 50, 0.9), TextBox(0, 50, 50, 100, 0.9)]
    batch = recognise.prepare_batch(image, boxes)
    assert batch.shape == (2, 3, 48, 192)
    assert batch[0].min() == pytest.approx(1.0)  # white -> +1
    assert np.all(batch[1, :, :, 48:] == 0)  # padding after the narrow crop's 48 px


def test_very_long_lines_are_squeezed_to_the_maximum_width():
    assert recognise.crop_width(TextBox(0, 0, 5000, 10, 0.9)) == recognise.MAX_WIDTH


def test_searchable_words_are_normalised_distinct_in_order_and_capped():
    lines = ["Espresso BAR", "Open daily, 7-19!", "bar café", "a I x", "Linzensoep à la Waterman"]
    assert searchable_words(lines) == [
        "espresso", "bar", "open", "daily", "7-19", "caf", "linzensoep", "la", "waterman"
    ]
    many = [" ".join(f"w{i}{j}" for j in range(10)) for i in range(10)]
    assert len(searchable_words(many)) == 50
    assert searchable_words(many, limit=3) == ["w00", "w01", "w02"]
