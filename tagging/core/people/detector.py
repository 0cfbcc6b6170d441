"""MTCNN face detection (P-Net, R-Net, O-Net) on onnxruntime, in numpy and Pillow.

The cascade of Zhang et al. (2016), as the ``mtcnn`` / FaceNet implementations run it:

1. An image pyramid from the scale at which the smallest face sought
   (:data:`DEFAULT_MIN_FACE`) becomes 12 px, shrinking by 0.709 until the shorter side
   is under 12 px. P-Net scores every 12x12 window (stride 2) of each level and
   regresses a box; windows above the P-Net threshold are thinned by NMS per level,
   then across levels, refined by their regression and made square.
2. R-Net scores each candidate (cropped, resized to 24x24) and refines it again.
3. O-Net scores the survivors at 48x48, refines their boxes and places five landmarks
   (eyes, nose, mouth corners); the last NMS uses the smaller box as the denominator
   so a box inside another face's box goes.

The networks come from the Keras port, which was trained on images with rows and
columns swapped (the Caffe/MATLAB convention): every input is fed transposed
(N, width, height, 3) and P-Net's maps come back the same way. Pixels are RGB,
scaled as (x - 127.5) / 128.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..onnx_models import cpu_session
from .weights import WEIGHTS_DIR, load_networks

if TYPE_CHECKING:
    from PIL import Image

MODEL_NAME = "mtcnn"
#: Smallest face side (px in the analysed image) the pyramid looks for. At the 640 px
#: working size that is 1/27 of the longer side (a 4000 px photo's ~150 px faces);
#: smaller faces are not seen. 20 px (the reference value) cost 1.4x the P-Net time
#: and brought the only non-face above 0.9 on the development photos (21 px).
DEFAULT_MIN_FACE = 24
#: Stage thresholds. P-Net and R-Net only propose: raised from the reference 0.6/0.7
#: to 0.8/0.9 they pass 2-4x fewer windows on with the same faces found on the
#: development photos (11 group and 19 portrait photos). O-Net's decides: raised from
#: 0.7 to 0.95 so that only confident faces count (real faces there scored 0.96-1.0;
#: no texture, animal or object reached 0.7 at 24 px; a drawn face may still pass).
DEFAULT_THRESHOLDS = (0.8, 0.9, 0.95)
SCALE_FACTOR = 0.709
#: Most candidates passed to R-Net and to O-Net (the best by the previous stage's
#: score). Each R-Net window costs ~0.2 ms and each O-Net window ~1-2 ms on one
#: thread, and textures (gravel, foliage, fur) propose hundreds: the caps bound the
#: cost of a busy photo. A face is usually among a stage's best few candidates, so
#: they only limit how many faces a crowd photo can report (at most MAX_REFINED).
MAX_PROPOSED = 128
MAX_REFINED = 32
_CELL = 12
_STRIDE = 2


@dataclass(frozen=True)
class Face:
    """One detected face, in pixels of the image it was found in.

    left, top, width, height: the box (may reach slightly outside the image; see
    :meth:`fractions`). score: O-Net's face probability, 0..1. landmarks: five (x, y)
    points: left eye, right eye, nose, left and right mouth corner (as seen).
    """

    left: float
    top: float
    width: float
    height: float
    score: float
    landmarks: tuple[tuple[float, float], ...]

    def fractions(self, image_width: int, image_height: int) -> tuple[float, float, float, float]:
        """(left, top, width, height) as fractions 0..1 of the image, clipped to it."""
        x1 = min(max(self.left / image_width, 0.0), 1.0)
        y1 = min(max(self.top / image_height, 0.0), 1.0)
        x2 = min(max((self.left + self.width) / image_width, 0.0), 1.0)
        y2 = min(max((self.top + self.height) / image_height, 0.0), 1.0)
        return x1, y1, x2 - x1, y2 - y1


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float, by_min: bool = False) -> np.ndarray:
    """Greedy non-maximum suppression. ``boxes``: (N, 4) x1, y1, x2, y2. Returns the
    indices kept, best score first. Overlap is intersection over union, or over the
    smaller area when ``by_min``; a box overlapping a kept one by more than
    ``threshold`` is dropped."""
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.intp)
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    area = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size:
        i = order[0]
        keep.append(int(i))
        rest = order[1:]
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + 1)
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + 1)
        inter = w * h
        denominator = np.minimum(area[i], area[rest]) if by_min else area[i] + area[rest] - inter
        order = rest[inter / denominator <= threshold]
    return np.array(keep, dtype=np.intp)


def _square(boxes: np.ndarray) -> np.ndarray:
    """Boxes (N, 4) grown to squares about their centres (side = the longer side)."""
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    x1 = boxes[:, 0] + (w - side) / 2
    y1 = boxes[:, 1] + (h - side) / 2
    return np.stack([x1, y1, x1 + side, y1 + side], axis=1)


def _regress(boxes: np.ndarray, offsets: np.ndarray, inclusive: bool = True) -> np.ndarray:
    """Apply the networks' box regression: each edge moves by offset x box side."""
    extra = 1.0 if inclusive else 0.0
    w = (boxes[:, 2] - boxes[:, 0] + extra)[:, None]
    h = (boxes[:, 3] - boxes[:, 1] + extra)[:, None]
    return boxes + offsets * np.concatenate([w, h, w, h], axis=1)


def _normalise(pixels: np.ndarray) -> np.ndarray:
    return (pixels.astype(np.float32) - 127.5) * 0.0078125


def pyramid_scales(width: int, height: int, min_face: int) -> list[float]:
    """Scales of the image pyramid: the first maps ``min_face`` px to 12 px."""
    scale = _CELL / min_face
    side = min(width, height) * scale
    scales = []
    while side >= _CELL:
        scales.append(scale)
        scale *= SCALE_FACTOR
        side *= SCALE_FACTOR
    return scales


class FaceDetector:
    """MTCNN on onnxruntime: three sessions, one intra-op thread each.

    Construction checks the three files' sha256 and builds the sessions (~50 ms, a few
    MB). Build it once per process through :func:`get_face_detector`; instances are
    immutable and safe to share across threads (onnxruntime sessions are).

    min_face: smallest face side sought, in px of the image passed to :meth:`detect`.
    thresholds: minimum P-Net, R-Net and O-Net face probabilities.
    weights_dir: the folder holding the three networks, checked against the
    ``weights.json`` beside it.
    """

    def __init__(
        self,
        min_face: int = DEFAULT_MIN_FACE,
        thresholds: tuple[float, float, float] = DEFAULT_THRESHOLDS,
        weights_dir: Path = WEIGHTS_DIR,
    ) -> None:
        if min_face < _CELL:
            raise ValueError(f"min_face {min_face} is below the network's {_CELL} px window")
        if len(thresholds) != 3 or not all(0.0 < t < 1.0 for t in thresholds):
            raise ValueError(f"thresholds {thresholds} must be three probabilities strictly between 0 and 1")
        self.min_face = int(min_face)
        self.thresholds = tuple(float(t) for t in thresholds)
        networks = load_networks(weights_dir)
        self._pnet, self._rnet, self._onet = (cpu_session(networks[n]) for n in ("pnet.onnx", "rnet.onnx", "onet.onnx"))

    def detect(self, image: Image.Image) -> list[Face]:
        """Faces in an image (any mode, converted to RGB), most confident first, in
        its pixels. The caller orients it (the working image already is)."""
        if image.mode != "RGB":
            image = image.convert("RGB")
        boxes = self._propose(image)
        if len(boxes):
            boxes = self._refine(image, boxes)
        if not len(boxes):
            return []
        return self._faces(boxes)

    def _run(self, session: Any, batch: np.ndarray) -> list[np.ndarray]:
        name = session.get_inputs()[0].name
        return [np.asarray(out) for out in session.run(None, {name: np.ascontiguousarray(batch)})]

    def _propose(self, image: Image.Image) -> np.ndarray:
        """Stage 1: candidate squares (N, 5: x1, y1, x2, y2, score) from P-Net."""
        from PIL import Image as PILImage

        width, height = image.size
        found = []
        level = image
        for scale in pyramid_scales(width, height, self.min_face):
            size = (math.ceil(width * scale), math.ceil(height * scale))
            # Each level from the one before: 2-3x cheaper than from the full image each time.
            level = level.resize(size, PILImage.Resampling.BILINEAR)
            batch = _normalise(np.asarray(level)).transpose(1, 0, 2)[None]
            offsets, probabilities = self._run(self._pnet, batch)
            face = probabilities[0, :, :, 1].T  # (rows, cols) of 12 px windows
            ys, xs = np.nonzero(face >= self.thresholds[0])
            if not ys.size:
                continue
            windows = np.stack([xs, ys, xs, ys], axis=1).astype(np.float64) * _STRIDE
            windows[:, 2:] += _CELL
            level_boxes = np.concatenate([windows / scale, face[ys, xs][:, None]], axis=1)
            level_offsets = offsets[0].transpose(1, 0, 2)[ys, xs]
            keep = nms(level_boxes[:, :4], level_boxes[:, 4], 0.5)
            found.append(np.concatenate([level_boxes[keep], level_offsets[keep]], axis=1))
        if not found:
            return np.zeros((0, 5))
        candidates = np.concatenate(found)
        keep = nms(candidates[:, :4], candidates[:, 4], 0.7)[:MAX_PROPOSED]
        candidates = candidates[keep]
        boxes = _square(_regress(candidates[:, :4], candidates[:, 5:9], inclusive=False))
        return np.concatenate([boxes, candidates[:, 4:5]], axis=1)

    def _crops(self, image: Image.Image, boxes: np.ndarray, side: int) -> np.ndarray:
        """Each box cropped (zero outside the image), resized to side x side, normalised
        and transposed for the networks: (N, side, side, 3)."""
        from PIL import Image as PILImage

        out = np.empty((len(boxes), side, side, 3), dtype=np.float32)
        for i, (x1, y1, x2, y2) in enumerate(np.fix(boxes[:, :4]).astype(int)):
            crop = image.crop((int(x1), int(y1), int(x2) + 1, int(y2) + 1))
            crop = crop.resize((side, side), PILImage.Resampling.BILINEAR)
            out[i] = _normalise(np.asarray(crop)).transpose(1, 0, 2)
        return out

    def _refine(self, image: Image.Image, boxes: np.ndarray) -> np.ndarray:
        """Stage 2 (R-Net) then stage 3 (O-Net): (N, 15) x1, y1, x2, y2, score,
        landmark xs (5), landmark ys (5)."""
        offsets, probabilities = self._run(self._rnet, self._crops(image, boxes, 24))
        passed = probabilities[:, 1] > self.thresholds[1]
        boxes, offsets, scores = boxes[passed, :4], offsets[passed], probabilities[passed, 1]
        if not len(boxes):
            return np.zeros((0, 15))
        keep = nms(boxes, scores, 0.7)[:MAX_REFINED]
        boxes = _square(_regress(boxes[keep], offsets[keep]))

        boxes = np.fix(boxes)
        offsets, points, probabilities = self._run(self._onet, self._crops(image, boxes, 48))
        passed = probabilities[:, 1] > self.thresholds[2]
        boxes, offsets, points, scores = boxes[passed], offsets[passed], points[passed], probabilities[passed, 1]
        if not len(boxes):
            return np.zeros((0, 15))
        w = (boxes[:, 2] - boxes[:, 0] + 1)[:, None]
        h = (boxes[:, 3] - boxes[:, 1] + 1)[:, None]
        xs = points[:, 0:5] * w + boxes[:, 0:1] - 1
        ys = points[:, 5:10] * h + boxes[:, 1:2] - 1
        boxes = _regress(boxes, offsets)
        keep = nms(boxes, scores, 0.7, by_min=True)
        return np.concatenate([boxes, scores[:, None], xs, ys], axis=1)[keep]

    @staticmethod
    def _faces(rows: np.ndarray) -> list[Face]:
        faces = []
        for row in rows:
            x1, y1, x2, y2, score = (float(v) for v in row[:5])
            landmarks = tuple((float(x), float(y)) for x, y in zip(row[5:10], row[10:15], strict=True))
            faces.append(Face(x1, y1, x2 - x1, y2 - y1, min(max(score, 0.0), 1.0), landmarks))
        faces.sort(key=lambda face: -face.score)
        return faces


_shared: FaceDetector | None = None
_shared_lock = threading.Lock()


def get_face_detector() -> FaceDetector:
    """The process-wide detector with the default settings, built on first use.

    Thread-safe: concurrent first calls build it once; later calls return the same
    object without locking.
    """
    global _shared
    detector = _shared
    if detector is None:
        with _shared_lock:
            detector = _shared
            if detector is None:
                detector = _shared = FaceDetector()
    return detector
