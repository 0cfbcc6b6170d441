"""FaceDetector (MTCNN on onnxruntime): faces where they are on real photos, none
on photos and images without one, the pipeline's pieces, the shared instance."""
from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import tagging.core.people.detector as detector_module
from tagging.core.analysis.decode import decode
from tagging.core.people import Face, FaceDetector, get_face_detector, nms
from tagging.core.people.detector import MAX_REFINED, pyramid_scales

PHOTOS = Path(__file__).resolve().parents[2] / "fixtures" / "photos"
BIG = 10**9
#: Where each face is, by inspection of the photos (left, top, width, height as
#: fractions; roughly hairline to chin and ear to ear).
FACES = {
    "astronaut.jpg": (0.35, 0.13, 0.17, 0.22),  # Eileen Collins, upper middle-left
    "grace_hopper.jpg": (0.34, 0.20, 0.33, 0.35),  # below the cap, above the collar
    "camera.png": (0.38, 0.22, 0.12, 0.16),  # the cameraman, three-quarter view behind the camera
}
NO_FACE = ["chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.jpg"]


def working(name: str) -> Image.Image:
    return decode((PHOTOS / name).read_bytes(), BIG).working


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ax2, ay2, bx2, by2 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    w = max(0.0, min(ax2, bx2) - max(a[0], b[0]))
    h = max(0.0, min(ay2, by2) - max(a[1], b[1]))
    inter = w * h
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


@pytest.mark.parametrize("name", sorted(FACES))
def test_one_face_is_found_where_the_face_is(name: str) -> None:
    image = working(name)
    faces = get_face_detector().detect(image)
    assert len(faces) == 1, faces
    box = faces[0].fractions(image.width, image.height)
    assert iou(box, FACES[name]) >= 0.6, (box, FACES[name])
    assert faces[0].score >= 0.95


@pytest.mark.parametrize("name", sorted(FACES))
def test_landmarks_fall_inside_the_face_with_eyes_above_the_mouth(name: str) -> None:
    face = get_face_detector().detect(working(name))[0]
    for x, y in face.landmarks:
        assert face.left <= x <= face.left + face.width and face.top <= y <= face.top + face.height
    (lx, ly), (rx, ry), _nose, (mlx, mly), (mrx, mry) = face.landmarks
    assert max(ly, ry) < min(mly, mry) and lx < rx and mlx < mrx


@pytest.mark.parametrize("name", NO_FACE)
def test_no_face_on_photos_without_one(name: str) -> None:
    assert get_face_detector().detect(working(name)) == []


@pytest.mark.parametrize(
    "make",
    [
        lambda: Image.new("RGB", (640, 480), (128, 128, 128)),
        lambda: Image.fromarray(np.random.default_rng(7).integers(0, 256, (480, 640, 3), dtype=np.uint8), "RGB"),
        lambda: Image.fromarray(
            np.kron(np.indices((15, 20)).sum(axis=0) % 2 * 255, np.ones((32, 32))).astype(np.uint8), "L"
        ),  # a checkerboard, in greyscale: converted to RGB by the detector
        lambda: Image.new("RGB", (5, 3), (200, 180, 160)),  # smaller than one 12 px window
    ],
    ids=["grey", "noise", "checkerboard", "tiny"],
)
def test_no_face_on_plain_noise_or_pattern_images(make) -> None:
    assert get_face_detector().detect(make()) == []


def tile(names: list[str], scale: float = 1.0) -> Image.Image:
    """The given fixture photos side by side on grey (a group photo of sorts)."""
    parts = [working(name) for name in names]
    parts = [p.resize((round(p.width * scale), round(p.height * scale)), Image.Resampling.BICUBIC) for p in parts]
    canvas = Image.new("RGB", (sum(p.width for p in parts), max(p.height for p in parts)), (128, 128, 128))
    x = 0
    for part in parts:
        canvas.paste(part, (x, 0))
        x += part.width
    return canvas


def test_several_faces_are_found_in_one_image_most_confident_first() -> None:
    image = tile(["astronaut.jpg", "chelsea.png", "grace_hopper.jpg", "camera.png"], scale=0.5)
    faces = get_face_detector().detect(image)
    assert len(faces) == 3
    assert [f.score for f in faces] == sorted((f.score for f in faces), reverse=True)
    centres = sorted((f.left + f.width / 2) / image.width for f in faces)
    # one face in each of the three photos with a face (the cat's panel has none)
    bounds = np.cumsum([0, 256, 226, 256, 256]) / image.width
    assert [int(np.searchsorted(bounds, c)) - 1 for c in centres] == [0, 2, 3]


def on_grey(name: str, side: int) -> Image.Image:
    """The fixture photo shrunk to ``side`` px wide, pasted on a 640x480 grey canvas."""
    photo = working(name)
    canvas = Image.new("RGB", (640, 480), (128, 128, 128))
    canvas.paste(photo.resize((side, round(side * photo.height / photo.width)), Image.Resampling.BICUBIC), (300, 100))
    return canvas


def test_faces_down_to_about_12_px_are_seen_and_smaller_ones_are_not() -> None:
    detector = get_face_detector()
    (seen,) = detector.detect(on_grey("astronaut.jpg", 96))  # the face ~15 px wide
    assert 12 <= seen.width <= 18
    tiny = on_grey("astronaut.jpg", 64)  # the face ~10 px wide
    assert detector.detect(tiny) == []
    assert len(FaceDetector(min_face=12).detect(tiny)) == 1  # the limit is the pyramid's, not the photo's


def test_face_fractions_are_clipped_to_the_image() -> None:
    face = Face(left=-10, top=90, width=40, height=20, score=0.99, landmarks=())
    assert face.fractions(100, 100) == (0.0, 0.9, 0.3, pytest.approx(0.1))


def test_nms_keeps_the_best_of_overlapping_boxes_and_separate_ones() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60], [2, 2, 6, 6]], dtype=float)
    scores = np.array([0.8, 0.9, 0.7, 0.6])
    assert nms(boxes, scores, 0.5).tolist() == [1, 2, 3]  # the small inner box overlaps little by union
    assert nms(boxes, scores, 0.5, by_min=True).tolist() == [1, 2]  # but fully by the smaller area
    assert nms(np.zeros((0, 4)), np.zeros(0), 0.5).tolist() == []


def test_the_pyramid_starts_where_the_smallest_face_is_12_px_and_stops_below_12() -> None:
    scales = pyramid_scales(640, 480, 24)
    assert scales[0] == 0.5
    assert 480 * scales[-1] >= 12 > 480 * scales[-1] * 0.709
    assert all(b / a == pytest.approx(0.709) for a, b in itertools.pairwise(scales))
    assert pyramid_scales(10, 10, 24) == []


def test_invalid_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="min_face"):
        FaceDetector(min_face=8)
    with pytest.raises(ValueError, match="thresholds"):
        FaceDetector(thresholds=(0.6, 0.7, 1.0))


def test_a_crowd_reports_at_most_max_refined_faces() -> None:
    face = working("grace_hopper.jpg").crop((150, 90, 370, 350)).resize((56, 66), Image.Resampling.BICUBIC)
    canvas = Image.new("RGB", (640, 480), (128, 128, 128))
    for row in range(6):
        for col in range(9):
            canvas.paste(face, (8 + col * 70, 6 + row * 78))
    faces = get_face_detector().detect(canvas)
    assert MAX_REFINED // 2 <= len(faces) <= MAX_REFINED


# --- the shared instance -------------------------------------------------------------


def test_get_face_detector_returns_one_shared_instance() -> None:
    assert get_face_detector() is get_face_detector()


def test_get_face_detector_builds_once_under_concurrency(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[object] = []

    class Counting:
        def __init__(self) -> None:
            time.sleep(0.05)  # widen the race window
            built.append(self)

    monkeypatch.setattr(detector_module, "_shared", None)
    monkeypatch.setattr(detector_module, "FaceDetector", Counting)
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(detector_module.get_face_detector())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(built) == 1 and all(g is built[0] for g in got)


def test_one_detector_gives_the_same_faces_from_several_threads() -> None:
    image = working("grace_hopper.jpg")
    expected = get_face_detector().detect(image)
    results: list[list[Face]] = []
    threads = [threading.Thread(target=lambda: results.append(get_face_detector().detect(image))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 4
