"""bench.tagging_speed: the bound counts every analyser's networks, as bench.analysers does."""
from __future__ import annotations

from pathlib import Path

import pytest

from bench import tagging_speed
from tagging.core.analysis.content import ContentAnalyser
from tests.test_bench_analysers import _WithModel, _WithoutModel

PHOTO = Path(__file__).parent / "fixtures" / "photos" / "chelsea.png"


def test_models_time_is_every_network_run_inside_the_analysis() -> None:
    tiny = _WithModel()  # 20 Session.run calls per analysis
    rows = tagging_speed.measure({"chelsea.png": PHOTO.read_bytes()}, 1, [ContentAnalyser(), tiny, _WithoutModel()])
    row = rows["chelsea.png"]
    assert row["model_runs"] == 1 + 20  # the classifier's one run and all of the other analyser's
    assert 0 < row["models"] < row["tagging"]
    assert {"tagging", "tagging_cpu", "decode_bound", "full_decode", "bytes"} <= set(row)
    from onnxruntime.capi.onnxruntime_inference_collection import Session

    assert Session.run.__name__ == "run"  # the timing wrapper is removed afterwards


def test_summary_bound_is_decode_bound_plus_every_model_per_photo() -> None:
    rows = {
        "a": {"tagging": 100.0, "tagging_cpu": 90.0, "decode_bound": 20.0, "models": 60.0, "model_runs": 7,
              "full_decode": 200.0},
        "b": {"tagging": 150.0, "tagging_cpu": 140.0, "decode_bound": 30.0, "models": 90.0, "model_runs": 9,
              "full_decode": 300.0},
    }  # fmt: skip
    summary = tagging_speed.summarise(rows)
    assert summary["models_ms"] == 75.0 and summary["model_runs"] == 8
    assert summary["tagging_over_bound"] == pytest.approx(1.25)
    assert summary["naive_over_tagging"] == pytest.approx((260 / 100 + 390 / 150) / 2, abs=0.01)
