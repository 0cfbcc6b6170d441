"""bench.analysers: per-analyser timings, generic over default_analysers()."""
from __future__ import annotations

from pathlib import Path

import pytest

from bench import analysers as bench_analysers
from tagging.core.analysis import pipeline
from tagging.core.tags import Contribution

PHOTO = Path(__file__).parent / "fixtures" / "photos" / "chelsea.png"


class _WithModel:
    """An analyser that runs a (tiny, real) network on onnxruntime, as the product's do."""

    name = "tiny-net"

    def __init__(self) -> None:
        import onnxruntime
        from onnx import TensorProto, helper

        graph = helper.make_graph(
            [helper.make_node("Relu", ["x"], ["y"])], "relu",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [256, 256])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [256, 256])],
        )  # fmt: skip
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
        self.session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        self.inferred = 0

    def analyse(self, image) -> Contribution:
        import numpy as np

        for _ in range(20):
            self.session.run(None, {"x": np.ones((256, 256), np.float32)})
        self.inferred += 1
        return Contribution()


class _WithoutModel:
    name = "notes"

    def analyse(self, image) -> Contribution:
        return Contribution()


def test_every_analyser_is_timed_and_its_time_inside_onnxruntime_is_its_model_time(monkeypatch) -> None:
    extra = [_WithModel(), _WithoutModel()]
    real = pipeline.default_analysers
    monkeypatch.setattr(pipeline, "default_analysers", lambda: [*real(), *extra])
    measured = bench_analysers.measure({"chelsea.png": PHOTO.read_bytes()}, repeats=1)
    row = measured["per_image"]["chelsea.png"]
    names = [a.name for a in real()] + ["tiny-net", "notes"]
    assert set(names) | {"decode", "finish", "decode_bound", "model.classifier", "model.tiny-net"} <= set(row)
    assert "model.notes" not in row and "model.colour" not in row  # no network, no model time
    assert 0 < row["model.tiny-net"] <= row["tiny-net"] and 0 < row["model.classifier"] <= row["classifier"]
    assert extra[0].inferred >= 2  # the warm-up and the timed run
    from onnxruntime.capi.onnxruntime_inference_collection import Session

    assert Session.run.__name__ == "run"  # the timing wrapper is removed afterwards


def test_summary_ratio_is_analysis_over_decode_bound_plus_models() -> None:
    rows = {
        "a": {"decode": 10.0, "classifier": 30.0, "finish": 10.0, "decode_bound": 20.0, "model.classifier.x": 20.0},
        "b": {"decode": 20.0, "classifier": 40.0, "finish": 20.0, "decode_bound": 30.0, "model.classifier.x": 30.0},
    }
    summary = bench_analysers.summarise({"per_image": rows})
    assert summary["decode_ms"] == 15.0 and summary["classifier_ms"] == 35.0
    assert summary["all_analysers_ms"] == 65.0 and summary["bound_ms"] == 50.0
    assert summary["all_over_bound"] == pytest.approx((50 / 40 + 80 / 60) / 2, abs=1e-3)
    assert summary["model.classifier.x_ms"] == 25.0


def test_text_photos_are_the_labelled_text_photos_at_12_megapixels() -> None:
    from io import BytesIO

    from PIL import Image

    from bench import quality

    photos = bench_analysers.text_photos()
    assert len(photos) == sum(label.text for label in quality.load_labels()) > 0
    for data in photos.values():
        with Image.open(BytesIO(data)) as image:
            assert image.width * image.height == 12_000_000
