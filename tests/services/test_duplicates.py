"""DuplicateFinder against a real Azurite fingerprint table: which image counts as the
original, exact vs near copies, the newer copies it reports, and forgetting on delete."""
from __future__ import annotations

import uuid

import pytest

from tagging.core.analysis.fingerprint import NEAR_DISTANCE
from tagging.core.keys import image_id, new_batch_id, user_key
from tagging.services.duplicates import DuplicateFinder, is_older

BASE_MS = 1_700_000_000_000
PHASH = "c3a5f00f0ff05a3c"


def _flip(phash: str, bits: int) -> str:
    """``phash`` with its ``bits`` lowest bits inverted (one band changes, the others match)."""
    return f"{int(phash, 16) ^ ((1 << bits) - 1):016x}"


def _image(seconds: int, index: int = 0) -> str:
    """An image id uploaded ``seconds`` after BASE_MS."""
    return image_id(new_batch_id(BASE_MS + seconds * 1000), index)


@pytest.fixture
def finder(storage) -> DuplicateFinder:
    return DuplicateFinder(storage)


@pytest.fixture
def key() -> str:
    return user_key(f"dups-{uuid.uuid4().hex[:8]}")


def test_older_means_an_earlier_batch_or_an_earlier_place_in_the_same_batch():
    first, later = _image(1), _image(2)
    assert is_older(first, later) and not is_older(later, first)
    batch = new_batch_id(BASE_MS)
    assert is_older(image_id(batch, 0), image_id(batch, 1))
    assert not is_older(image_id(batch, 1), image_id(batch, 1))


def test_an_image_alone_has_no_original(finder, key):
    result = finder.check(key, _image(1), "sha-a", PHASH)
    assert (result.original, result.kind, result.distance, result.newer) == (None, None, None, [])


def test_the_same_bytes_make_an_exact_copy_of_the_older_image(finder, key):
    old, new = _image(1), _image(2)
    finder.check(key, old, "sha-a", PHASH)
    result = finder.check(key, new, "sha-a", PHASH)
    assert (result.original, result.kind, result.distance, result.newer) == (old, "exact", 0, [])
    # The older image, checked again, names the newer copy for a re-check instead.
    again = finder.check(key, old, "sha-a", PHASH)
    assert again.original is None and again.newer == [new]


def test_a_phash_within_the_near_distance_is_a_near_copy_and_beyond_it_none(finder, key):
    old, far, near = _image(1), _image(2), _image(3)
    finder.check(key, old, "sha-a", PHASH)
    apart = finder.check(key, far, "sha-c", _flip(PHASH, NEAR_DISTANCE + 1))
    assert apart.original is None
    result = finder.check(key, near, "sha-b", _flip(PHASH, NEAR_DISTANCE))
    assert (result.original, result.kind, result.distance) == (old, "near", NEAR_DISTANCE)


def test_an_exact_copy_is_preferred_to_an_older_near_one(finder, key):
    oldest, exact, new = _image(1), _image(2), _image(3)
    finder.check(key, oldest, "sha-near", _flip(PHASH, 1))
    finder.check(key, exact, "sha-a", PHASH)
    result = finder.check(key, new, "sha-a", PHASH)
    assert (result.original, result.kind) == (exact, "exact")


def test_among_equal_copies_the_oldest_is_the_original(finder, key):
    first, second, third = _image(1), _image(2), _image(3)
    for image in (third, second, first):  # registered newest first: order must not matter
        finder.check(key, image, "sha-a", PHASH)
    assert finder.check(key, third, "sha-a", PHASH).original == first


def test_copies_of_another_user_do_not_count(finder, key):
    finder.check(key, _image(1), "sha-a", PHASH)
    other = user_key(f"dups-other-{uuid.uuid4().hex[:8]}")
    assert finder.check(other, _image(2), "sha-a", PHASH).original is None


def test_a_forgotten_image_is_no_longer_found(finder, key):
    old, new = _image(1), _image(2)
    finder.check(key, old, "sha-a", PHASH)
    finder.forget(key, old, PHASH)
    assert finder.check(key, new, "sha-a", PHASH).original is None
    finder.forget(key, old, None)  # an image never fingerprinted: nothing to do, no error
