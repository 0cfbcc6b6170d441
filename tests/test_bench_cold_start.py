"""bench.cold_start: the first image's model set-up covers every model the analysers run."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bench import cold_start

PHOTO = Path(__file__).parent / "fixtures" / "photos" / "chelsea.png"


def test_model_setup_builds_every_session_the_first_image_needs() -> None:
    result = cold_start.first_image(PHOTO)
    # classifier 1, faces 3 (P/R/O-Net), safety 1, text 2 (detection, recognition); the
    # child itself asserts that tagging the photo afterwards built none.
    assert result["sessions"] == 7, result
    assert {f"setup_{name}" for name in cold_start.MODELS} <= set(result)
    assert 0 < sum(result[f"setup_{name}"] for name in cold_start.MODELS) <= result["model_setup"]
    assert result["model_setup"] < result["first_image"]


def test_a_model_left_out_of_the_setup_fails_the_measurement() -> None:
    """Without the text reader the image builds its two sessions itself: the figure
    would leave their set-up out, so the child refuses to report it."""
    partial = {name: path for name, path in cold_start.MODELS.items() if name != "text"}
    with pytest.raises(subprocess.CalledProcessError) as error:
        cold_start.first_image(PHOTO, partial)
    assert "session(s) outside the set-up" in error.value.stderr
