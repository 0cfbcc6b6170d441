"""Content-tag quality on the labelled development set: ``python -m bench.quality``
(what ``make quality`` does).

Runs the product's analysis (:func:`tagging.core.analysis.pipeline.analyse` with
``default_analysers()``) over every photo listed in
``tests/fixtures/quality/labels.json`` and scores its *content* tags (sources
:data:`CONTENT_SOURCES`; colours, orientation, EXIF and traits are not content):

- per photo: ``right`` (an expected tag, no clearly wrong one), ``wrong`` (a clearly
  wrong tag), ``none`` (no content tag), ``other`` (only tags the labels neither
  expect nor rule out);
- per category: recall = right / photos, precision = right / photos with a content
  tag, and the same counts;
- people and text detection (face and text analysers, facts ``face_count`` and
  ``text``): precision/recall over the photos labelled with or without people or
  text, and the share of expected words read; "not available" while the pipeline has
  no such analyser.

Prints a table and writes ``bench/quality-results.json``. The labels are data: add
photos there, never expected results here.
"""
from __future__ import annotations

import argparse
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LABELS = ROOT / "tests" / "fixtures" / "quality" / "labels.json"
RESULTS = Path(__file__).resolve().parent / "quality-results.json"
#: Tag sources that describe what is in the picture.
CONTENT_SOURCES = frozenset({"classifier", "faces", "text", "safety"})
MAX_PIXELS = 10**9
NOT_AVAILABLE = "not available"


class Outcome:
    RIGHT = "right"
    WRONG = "wrong"
    NONE = "none"
    OTHER = "other"


@dataclass(frozen=True)
class Label:
    """One labelled photo (see labels.json's "about")."""

    file: str
    categories: tuple[str, ...]
    expected: frozenset[str]
    wrong: frozenset[str]
    people: bool | None
    text: bool
    words: tuple[str, ...]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Label:
        return cls(
            file=str(data["file"]),
            categories=tuple(data["categories"]),
            expected=frozenset(data["expected"]),
            wrong=frozenset(data["wrong"]),
            people=data["people"],
            text=bool(data["text"]),
            words=tuple(data.get("words") or ()),
        )


@dataclass
class PhotoResult:
    file: str
    categories: tuple[str, ...]
    outcome: str
    content_tags: list[str]
    right_tags: list[str]
    wrong_tags: list[str]
    face_count: int | None
    words: list[str] | None
    labels: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def load_labels(path: Path = LABELS) -> list[Label]:
    return [Label.from_dict(item) for item in json.loads(path.read_text(encoding="utf-8"))["photos"]]


def photo_path(label: Label, labels_path: Path = LABELS) -> Path:
    return (labels_path.parent / label.file).resolve()


def judge(label: Label, content_tags: Sequence[str]) -> tuple[str, list[str], list[str]]:
    """(outcome, right tags, wrong tags) for the content tags one photo got."""
    right = [t for t in content_tags if t in label.expected]
    wrong = [t for t in content_tags if t in label.wrong]
    if wrong:
        return Outcome.WRONG, right, wrong
    if right:
        return Outcome.RIGHT, right, wrong
    if not content_tags:
        return Outcome.NONE, right, wrong
    return Outcome.OTHER, right, wrong


def analyse_photo(label: Label, analysers: Sequence[Any], labels_path: Path = LABELS) -> PhotoResult:
    from tagging.core.analysis.pipeline import analyse

    analysis = analyse(photo_path(label, labels_path).read_bytes(), MAX_PIXELS, analysers)
    content = [tag.name for tag in analysis.tags if tag.source in CONTENT_SOURCES]
    outcome, right, wrong = judge(label, content)
    text = analysis.facts.get("text")
    face_count = analysis.facts.get("face_count")
    return PhotoResult(
        file=label.file,
        categories=label.categories,
        outcome=outcome,
        content_tags=content,
        right_tags=right,
        wrong_tags=wrong,
        face_count=int(face_count) if face_count is not None else None,
        words=list(text.get("words", [])) if isinstance(text, dict) else None,
        labels=[f"{item['name']} {item['confidence']:.2f}" for item in analysis.facts.get("labels", [])[:3]],
    )


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 3) if denominator else None


def _counts(results: Sequence[PhotoResult]) -> dict[str, Any]:
    counts = {o: sum(r.outcome == o for r in results) for o in (Outcome.RIGHT, Outcome.NONE, Outcome.WRONG, Outcome.OTHER)}
    tagged = len(results) - counts[Outcome.NONE]
    return {
        "photos": len(results),
        **counts,
        "precision": _ratio(counts[Outcome.RIGHT], tagged),
        "recall": _ratio(counts[Outcome.RIGHT], len(results)),
    }


def _detection(pairs: Sequence[tuple[bool, bool]]) -> dict[str, Any]:
    """Precision/recall of a yes/no detector from (truth, predicted) pairs."""
    tp = sum(t and p for t, p in pairs)
    fp = sum((not t) and p for t, p in pairs)
    fn = sum(t and (not p) for t, p in pairs)
    return {
        "photos": len(pairs),
        "with": sum(t for t, _ in pairs),
        "found": tp,
        "false_hits": fp,
        "missed": fn,
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
    }


def summarise(labels: Sequence[Label], results: Sequence[PhotoResult], analyser_names: set[str]) -> dict[str, Any]:
    by_category: dict[str, list[PhotoResult]] = defaultdict(list)
    for result in results:
        for category in result.categories:
            by_category[category].append(result)
    summary: dict[str, Any] = {
        "overall": _counts(results),
        "categories": {name: _counts(items) for name, items in sorted(by_category.items())},
    }
    faces_on = bool(analyser_names & {"faces", "people"}) or any(r.face_count is not None for r in results)
    if faces_on:
        pairs = [
            (bool(label.people), (result.face_count or 0) > 0)
            for label, result in zip(labels, results, strict=True)
            if label.people is not None
        ]
        summary["people_detection"] = _detection(pairs)
    else:
        summary["people_detection"] = NOT_AVAILABLE
    text_on = "text" in analyser_names or any(r.words is not None for r in results)
    if text_on:
        summary["text_detection"] = _detection([(label.text, bool(r.words)) for label, r in zip(labels, results, strict=True)])
        expected = [(w, r) for label, r in zip(labels, results, strict=True) for w in label.words]
        found = sum(w in (r.words or []) for w, r in expected)
        summary["text_detection"]["words_expected"] = len(expected)
        summary["text_detection"]["words_read"] = found
        summary["text_detection"]["word_recall"] = _ratio(found, len(expected))
    else:
        summary["text_detection"] = NOT_AVAILABLE
    return summary


def run(labels_path: Path = LABELS) -> tuple[list[Label], list[PhotoResult], dict[str, Any]]:
    """Analyse every labelled photo; (labels, per-photo results, summary)."""
    from tagging.core.analysis.pipeline import default_analysers

    labels = load_labels(labels_path)
    analysers = default_analysers()
    results = [analyse_photo(label, analysers, labels_path) for label in labels]
    return labels, results, summarise(labels, results, {a.name for a in analysers})


def table(summary: dict[str, Any]) -> str:
    lines = [f"{'category':<12} {'photos':>6} {'right':>6} {'none':>5} {'wrong':>6} {'other':>6} {'precision':>9} {'recall':>7}"]
    rows = [("all", summary["overall"]), *summary["categories"].items()]
    for name, c in rows:
        lines.append(
            f"{name:<12} {c['photos']:>6} {c['right']:>6} {c['none']:>5} {c['wrong']:>6} {c['other']:>6} "
            f"{_fmt(c['precision']):>9} {_fmt(c['recall']):>7}"
        )
    for key in ("people_detection", "text_detection"):
        value = summary[key]
        if isinstance(value, dict):
            extra = f", words read {value['words_read']}/{value['words_expected']}" if "words_read" in value else ""
            lines.append(
                f"{key}: precision {_fmt(value['precision'])}, recall {_fmt(value['recall'])} "
                f"({value['found']} found, {value['false_hits']} false, {value['missed']} missed of {value['photos']}){extra}"
            )
        else:
            lines.append(f"{key}: {value}")
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.quality", description=__doc__.split("\n\n")[0])
    parser.add_argument("--labels", type=Path, default=LABELS)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("-v", "--verbose", action="store_true", help="print every photo's outcome and tags")
    args = parser.parse_args(argv)
    labels, results, summary = run(args.labels)
    if args.verbose:
        for r in results:
            print(f"{r.outcome:<6} {r.file:<28} {', '.join(r.content_tags) or '-':<40} | {'; '.join(r.labels)}")
    print(table(summary))
    args.out.write_text(json.dumps({"summary": summary, "photos": [r.to_dict() for r in results]}, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
