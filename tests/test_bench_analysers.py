"""bench.analysers: per-analyser timings, generic over default_analysers()."""
from __future__ import annotations

from pathlib import Path

import pytest

from bench import analysers as bench_analysers
from tagging.core.analysis import pipeline
from tagging.core.tags import Contribution

PHOTO = Path(__file__).parent / "fixtures" / "photos" / "chelsea.png"


class _WithModel:
    """An analyser that exposes its network to the bench, as a new one may."""

    name = "faces"

    def __init__(self) -> None:
        self.inferred = 0

    def analyse(self, image) -> Contribution:
        return Contribution()

    def bench_models(self, image):
        return {"pnet": self._infer}

    def _infer(self) -> None:
        self.inferred += 1


class _WithoutModel:
    name = "text"

    def analyse(self, image) -> Contribution:
        return Contribution()


def test_every_analyser_and_model_is_timed_and_missing_models_are_named(monkeypatch) -> None:
    extra = [_WithModel(), _WithoutModel()]
    real = pipeline.default_analysers
    monkeypatch.setattr(pipeline, "default_analysers", lambda: [*real(), *extra])
    measured = bench_analysers.measure({"chelsea.png": PHOTO.read_bytes()}, repeats=1)
    row = measured["per_image"]["chelsea.png"]
    names = [a.name for a in real()] + ["faces", "text"]
    assert set(row) == {"decode", "finish", "decode_bound", "model.classifier.efficientnet-lite0", "model.faces.pnet", *names}
    assert all(value >= 0 for value in row.values())
    assert extra[0].inferred >= 1
    assert measured["models_missing"] == ["text"]


def test_summary_ratio_is_analysis_over_decode_bound_plus_models() -> None:
    rows = {
        "a": {"decode": 10.0, "classifier": 30.0, "finish": 10.0, "decode_bound": 20.0, "model.classifier.x": 20.0},
        "b": {"decode": 20.0, "classifier": 40.0, "finish": 20.0, "decode_bound": 30.0, "model.classifier.x": 30.0},
    }
    summary = bench_analysers.summarise({"per_image": rows, "models_missing": []})
    assert summary["decode_ms"] == 15.0 and summary["classifier_ms"] == 35.0
    assert summary["all_analysers_ms"] == 65.0 and summary["bound_ms"] == 50.0
    assert summary["all_over_bound"] == pytest.approx((50 / 40 + 80 / 60) / 2, abs=1e-3)
    assert summary["models_missing"] == "none"


def test_text_photos_are_the_labelled_text_photos_at_12_megapixels() -> None:
    from io import BytesIO

    from PIL import Image

    from bench import quality

    photos = bench_analysers.text_photos()
    assert len(photos) == sum(label.text for label in quality.load_labels()) > 0
    for data in photos.values():
        with Image.open(BytesIO(data)) as image:
            assert image.width * image.height == 12_000_000
