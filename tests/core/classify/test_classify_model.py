"""ContentClassifier: its model file, preprocessing, expected tags on fixture photos,
threshold and uncertainty logic, the shared instance."""
from __future__ import annotations

import hashlib
import json
import math
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import tagging.core.classify.model as model_module
from tagging.core.classify import (
    MODEL_NAME,
    TAG_SOURCE,
    Classification,
    ContentClassifier,
    Label,
    ModelFileError,
    get_classifier,
    prepare_image,
)
from tagging.core.classify.model import MODEL_FILE, WEIGHTS_DIR, load_rules, perplexity, softmax
from tagging.core.onnx_models import pinned_sha256
from tagging.core.tags import Tag, is_tag_name

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
PHOTOS = FIXTURES / "photos"
REFERENCE = json.loads((FIXTURES / "classifier_reference.json").read_text())
MANIFEST = json.loads((WEIGHTS_DIR.parent / "weights.json").read_text(encoding="utf-8"))


def classify(name: str) -> Classification:
    with Image.open(PHOTOS / name) as image:
        return get_classifier().classify(image)


def tag_map(result: Classification) -> dict[str, float]:
    return {tag.name: tag.confidence for tag in result.tags}


def class_indices(tag: str) -> list[int]:
    return [i for i, t in enumerate(load_rules().class_tags) if t == tag]


# --- the shared instance -------------------------------------------------------------


def test_get_classifier_returns_one_shared_instance() -> None:
    assert get_classifier() is get_classifier()


def test_get_classifier_builds_once_under_concurrency(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[object] = []

    class Counting:
        def __init__(self, **options: object) -> None:
            time.sleep(0.05)  # widen the race window
            built.append(self)

    monkeypatch.setattr(model_module, "_shared", None)
    monkeypatch.setattr(model_module, "ContentClassifier", Counting)
    results: list[object] = []
    threads = [threading.Thread(target=lambda: results.append(model_module.get_classifier())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(built) == 1
    assert len(results) == 8 and all(r is built[0] for r in results)


def test_the_session_uses_one_thread() -> None:
    options = get_classifier()._session.get_session_options()
    assert options.intra_op_num_threads == 1
    assert options.inter_op_num_threads == 1


# --- the model file ----------------------------------------------------------------------


def test_the_model_file_is_the_one_the_manifest_pins() -> None:
    pinned = pinned_sha256(WEIGHTS_DIR.parent / "weights.json")[MODEL_FILE]
    assert pinned == MANIFEST["files"][MODEL_FILE]["built_sha256"]
    assert hashlib.sha256((WEIGHTS_DIR / MODEL_FILE).read_bytes()).hexdigest() == pinned


def test_a_model_file_with_another_hash_is_refused(tmp_path: Path) -> None:
    shutil.copyfile(WEIGHTS_DIR.parent / "weights.json", tmp_path / "weights.json")
    folder = tmp_path / "weights"
    folder.mkdir()
    changed = bytearray((WEIGHTS_DIR / MODEL_FILE).read_bytes())
    changed[-1000] ^= 0x01
    (folder / MODEL_FILE).write_bytes(bytes(changed))
    with pytest.raises(ModelFileError, match="does not match the pinned"):
        ContentClassifier(weights_dir=folder)
    shutil.copyfile(WEIGHTS_DIR / MODEL_FILE, folder / MODEL_FILE)
    assert ContentClassifier(weights_dir=folder).classify(Image.new("RGB", (8, 8))).labels  # the guard above


def test_a_missing_weights_folder_names_make_install(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="make install"):
        ContentClassifier(weights_dir=tmp_path / "weights")


@pytest.mark.parametrize("photo", sorted(REFERENCE["photos"]))
def test_the_model_agrees_with_the_pytorch_reference(photo: str) -> None:
    """Within the float16 weights' bound (0.003, tests/tools/model_builds) of an
    independent PyTorch float32 run (tests/fixtures/classifier_reference.json)."""
    expected = REFERENCE["photos"][photo]
    with Image.open(PHOTOS / photo) as image:
        probabilities = softmax(get_classifier().logits(prepare_image(image)))[0]
    assert int(np.argmax(probabilities)) == expected["top5"][0]["index"]
    for entry in expected["top5"]:
        assert probabilities[entry["index"]] == pytest.approx(entry["probability"], abs=3e-3)


# --- expected tags on the fixture photos -----------------------------------------------


def test_chelsea_is_a_cat() -> None:
    result = classify("chelsea.png")
    tags = tag_map(result)
    assert tags["cat"] >= 0.8
    assert tags["animal"] >= tags["cat"]  # the parent sums over its children
    assert result.labels[0].name in {"tiger cat", "tabby cat", "Egyptian Mau"}
    assert "dog" not in tags


def test_coffee_is_coffee_and_a_drink() -> None:
    tags = tag_map(classify("coffee.png"))
    assert tags["coffee"] >= 0.8
    assert tags["drink"] >= tags["coffee"]
    assert tags["espresso"] >= 0.8  # the fine label, as a tag


def test_motorcycle() -> None:
    result = classify("motorcycle_left.jpg")
    tags = tag_map(result)
    assert tags["motorcycle"] >= 0.5
    assert tags["vehicle"] >= tags["motorcycle"]
    assert list(tags)[:2] == ["vehicle", "motorcycle"]


def test_camera_on_a_tripod() -> None:
    result = classify("camera.png")  # greyscale ("L") photo of a photographer at a tripod
    assert result.labels[0].name == "tripod"
    assert tag_map(result)["camera"] >= 0.9


def test_rocket() -> None:
    tags = tag_map(classify("rocket.jpg"))
    assert tags["rocket"] >= 0.4
    assert max(tags.values()) == tags["rocket"]


def test_portrait_of_an_astronaut_gets_no_tags() -> None:
    result = classify("astronaut.jpg")
    assert result.uncertain and result.perplexity > 50
    assert result.tags == []
    assert len(result.labels) == 5  # labels stay available for display
    assert result.labels[0].confidence < 0.2


def test_why_the_uncertainty_gate_exists() -> None:
    """Without it, the astronaut's diffuse guesses (helmets, bobsleigh, barbell, ...) add
    up to a wrong "sport" tag although no single class reaches the threshold."""
    ungated = ContentClassifier(max_perplexity=math.inf)
    with Image.open(PHOTOS / "astronaut.jpg") as image:
        result = ungated.classify(image)
    assert not result.uncertain
    assert all(label.confidence < 0.2 for label in result.labels)
    assert tag_map(result).get("sport", 0.0) > 0.2


def test_portrait_of_grace_hopper_gets_no_wrong_confident_tag() -> None:
    result = classify("grace_hopper.jpg")  # in uniform: clothing is right, the rest is guesswork
    confident = {tag.name for tag in result.tags if tag.confidence >= 0.5}
    assert confident <= {"clothing"}
    assert all(tag.confidence < 0.3 for tag in result.tags if tag.name != "clothing")


@pytest.mark.parametrize("name", sorted(p.name for p in PHOTOS.glob("*.[jp][pn]g")))
def test_classification_contract(name: str) -> None:
    result = classify(name)
    assert result.model == MODEL_NAME
    assert len(result.labels) == 5
    confidences = [label.confidence for label in result.labels]
    assert confidences == sorted(confidences, reverse=True)
    for label in result.labels:
        assert isinstance(label, Label)
        assert 0 <= label.index < 1000 and label.wnid.startswith("n") and len(label.wnid) == 9
    threshold = get_classifier().threshold
    for tag in result.tags:
        assert isinstance(tag, Tag) and tag.source == TAG_SOURCE and is_tag_name(tag.name)
        assert threshold <= tag.confidence <= 1.0
    assert [t.confidence for t in result.tags] == sorted((t.confidence for t in result.tags), reverse=True)
    assert len({t.name for t in result.tags}) == len(result.tags)
    json.dumps(result.to_dict())


# --- threshold logic on crafted probability vectors ------------------------------------


WEBSITE = 916  # a class with no coarse tag


def _probabilities(mass: dict[int, float]) -> np.ndarray:
    """The given classes get their mass, "website" (no coarse tag) most of the rest, and
    the remaining 1% is spread over all other classes: a confident, low-perplexity image."""
    assert load_rules().class_tags[WEBSITE] is None
    p = np.zeros(1000)
    rest = [i for i in range(1000) if i not in mass and i != WEBSITE]
    p[rest] = 0.01 / len(rest)
    for index, value in mass.items():
        p[index] = value
    p[WEBSITE] = 1.0 - p.sum()
    return p


def test_coarse_tag_sums_its_classes_and_respects_the_threshold() -> None:
    classifier = get_classifier()
    assert load_rules().gate("building").min_confidence is None  # the default bar, 0.2
    buildings = [i for i, t in enumerate(load_rules().class_tags) if t == "building"]
    split = _probabilities({buildings[0]: 0.1, buildings[1]: 0.1, buildings[2]: 0.1})
    tags = tag_map_from(classifier.tags(split))
    members = len(load_rules().members()["building"])  # its own classes and its children's (shops)
    assert tags["building"] == pytest.approx(0.3 + 0.01 * (members - 3) / 996, abs=1e-9)
    assert set(tags) == {"building", "website"}  # no building class reached the fine bar; website is the filler

    weak = _probabilities({buildings[0]: 0.09, buildings[1]: 0.09})
    assert "building" not in tag_map_from(classifier.tags(weak))


def test_a_tag_gate_sets_its_own_bar() -> None:
    """Animals need 0.5 (flowers read as bees at 0.2-0.4), whatever their sum under it."""
    classifier = get_classifier()
    bar = load_rules().gate("cat").min_confidence
    assert bar is not None and bar > classifier.threshold
    cats = class_indices("cat")
    below = _probabilities({cats[0]: bar / 2 - 0.01, cats[1]: bar / 2 - 0.01})
    assert "cat" not in tag_map_from(classifier.tags(below))
    above = _probabilities({cats[0]: bar / 2 + 0.01, cats[1]: bar / 2 + 0.01})
    assert tag_map_from(classifier.tags(above))["cat"] >= bar


def _hesitant(mass: dict[int, float]) -> np.ndarray:
    """``mass`` on the given classes, the rest spread evenly: perplexity ~100-300."""
    p = np.full(1000, (1.0 - sum(mass.values())) / (1000 - len(mass)))
    for index, value in mass.items():
        p[index] = value
    return p


def test_scenery_is_allowed_more_hesitation_than_objects() -> None:
    """Real landscapes spread over lakeshore, sandbar, seashore, valley: their sum is
    right although the image is "uncertain"; the same spread on animals gives nothing."""
    classifier = get_classifier()
    rules = load_rules()
    lake, valley = class_indices("lake")[0], class_indices("valley")[0]
    scenery = _hesitant({lake: 0.3, valley: 0.15})
    spread = perplexity(scenery)
    scenery_limit = rules.gate("lake").max_perplexity
    assert scenery_limit is not None and classifier.max_perplexity < spread <= scenery_limit
    tags = tag_map_from(classifier.tags(scenery))
    assert tags["landscape"] >= 0.45 and "valley" not in tags  # 0.15 + spread < 0.2
    assert tags["lake"] >= 0.3
    cats = class_indices("cat")
    animals = _hesitant({cats[0]: 0.25, cats[1]: 0.25})
    assert perplexity(animals) > classifier.max_perplexity
    assert classifier.tags(animals) == []


def test_parent_tag_sums_over_all_its_children() -> None:
    classifier = get_classifier()
    cat, dog, bird = class_indices("cat")[0], class_indices("dog")[0], class_indices("bird")[0]
    p = _probabilities({cat: 0.2, dog: 0.2, bird: 0.2})  # each under the animal bar, together over it
    tags = tag_map_from(classifier.tags(p))
    assert {"cat", "dog", "bird"}.isdisjoint(tags)
    animal = [i for i, t in enumerate(load_rules().class_tags) if t and "animal" in load_rules().ancestors(t)]
    assert tags["animal"] == pytest.approx(float(p[animal].sum()))


def test_uniform_probabilities_give_no_tags() -> None:
    p = np.full(1000, 1e-3)
    assert perplexity(p) == pytest.approx(1000.0)
    assert get_classifier().tags(p) == []


def test_threshold_is_a_constructor_parameter() -> None:
    strict = ContentClassifier(threshold=0.97)
    with Image.open(PHOTOS / "coffee.png") as image:
        result = strict.classify(image)
    assert tag_map(result) == {"drink": pytest.approx(0.971, abs=2e-3)}

    no_fine = ContentClassifier(fine_tags=False)
    with Image.open(PHOTOS / "coffee.png") as image:
        assert set(tag_map(no_fine.classify(image))) == {"coffee", "drink"}


@pytest.mark.parametrize(
    "kwargs", [{"threshold": 0.0}, {"threshold": 1.5}, {"fine_threshold": -1.0}, {"max_perplexity": 0.5}]
)
def test_invalid_parameters_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        ContentClassifier(**kwargs)


def tag_map_from(tags: list[Tag]) -> dict[str, float]:
    return {tag.name: tag.confidence for tag in tags}


# --- preprocessing -----------------------------------------------------------------------


def test_prepare_image_shape_dtype_and_range() -> None:
    with Image.open(PHOTOS / "chelsea.png") as image:
        x = prepare_image(image)
    assert x.shape == (1, 3, 224, 224) and x.dtype == np.float32 and x.flags.c_contiguous
    assert x.min() >= (0 - 127) / 128 and x.max() <= (255 - 127) / 128


def test_transparent_pixels_become_white() -> None:
    clear = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    white = Image.new("RGB", (300, 200), (255, 255, 255))
    np.testing.assert_array_equal(prepare_image(clear), prepare_image(white))
    half = Image.new("RGBA", (300, 200), (0, 0, 0, 128))  # half-transparent black: mid grey
    assert np.allclose(prepare_image(half), (127 - 127) / 128, atol=1.5 / 128)


def test_grey_is_expanded_to_three_equal_channels() -> None:
    with Image.open(PHOTOS / "camera.png") as image:
        assert image.mode == "L"
        x = prepare_image(image)
        np.testing.assert_array_equal(x, prepare_image(image.convert("RGB")))
    assert np.array_equal(x[0, 0], x[0, 1]) and np.array_equal(x[0, 1], x[0, 2])


@pytest.mark.parametrize("mode", ["P", "PA", "LA", "RGBA", "CMYK", "1", "I;16", "I", "F"])
def test_any_mode_is_accepted(mode: str) -> None:
    with Image.open(PHOTOS / "chelsea.png") as image:
        base = image.convert("RGB")
    if mode == "I;16":
        image = Image.fromarray(np.asarray(base.convert("L"), dtype=np.uint16) * 257)
        assert image.mode == "I;16"
    elif mode in ("I", "F"):
        image = base.convert("L").convert(mode)
    else:
        image = base.convert(mode)
    x = prepare_image(image)
    assert x.shape == (1, 3, 224, 224) and np.isfinite(x).all()
    if mode in ("I;16", "I", "F"):  # wide grey is scaled back to 8 bits, not clipped
        np.testing.assert_allclose(x, prepare_image(base.convert("L")), atol=1.5 / 128)


def test_palette_with_transparency() -> None:
    image = Image.new("P", (64, 48), 0)
    image.putpalette([0, 0, 0] + [200, 10, 10] * 255)
    image.info["transparency"] = 0
    x = prepare_image(image)
    assert np.allclose(x, (255 - 127) / 128)  # every pixel is the transparent index: white


@pytest.mark.parametrize("size", [(1, 1), (2, 3), (7, 5), (224, 224), (1000, 10)])
def test_tiny_and_odd_sizes(size: tuple[int, int]) -> None:
    image = Image.new("RGB", size, (10, 200, 30))
    x = prepare_image(image)
    assert x.shape == (1, 3, 224, 224)
    assert np.allclose(x[0, :, 112, 112], (np.array([10, 200, 30]) - 127) / 128, atol=1 / 128)
    assert get_classifier().classify(image).labels  # runs end to end


def test_empty_image_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        prepare_image(Image.new("RGB", (0, 0)))


def test_centre_crop_ignores_the_border() -> None:
    """Only the central 0.875 of the short side reaches the network."""
    inner = Image.new("RGB", (400, 400), (90, 90, 90))
    framed = inner.copy()
    framed.paste((255, 0, 0), (0, 0, 400, 20))  # a red band inside the cropped-away 25 px
    np.testing.assert_allclose(prepare_image(framed), prepare_image(inner), atol=2 / 128)
