import itertools
from pathlib import Path

import pytest

from tagging.core.analysis import decode
from tagging.core.analysis.fingerprint import NEAR_DISTANCE, bands, distance, perceptual_hash
from tests.support import images

PHOTOS = sorted((Path(__file__).parents[2] / "fixtures" / "photos").glob("*.[jp][pn]g"))


def phash(data: bytes) -> str:
    return perceptual_hash(decode(data, 10**9).working)


@pytest.mark.parametrize("photo", PHOTOS, ids=lambda p: p.name)
def test_resized_and_recompressed_copies_stay_near(photo):
    original = photo.read_bytes()
    for scale, quality, fmt in ((0.5, 70, "JPEG"), (0.25, 40, "JPEG"), (0.8, 90, "PNG")):
        assert distance(phash(original), phash(images.reencoded(original, scale, quality, fmt))) <= NEAR_DISTANCE


def test_different_photos_are_far_apart():
    hashes = [phash(p.read_bytes()) for p in PHOTOS]
    assert len(hashes) >= 5
    assert all(distance(a, b) > 4 * NEAR_DISTANCE for a, b in itertools.combinations(hashes, 2))


def test_hashes_within_the_near_distance_always_share_a_band():
    base = 0x0123456789ABCDEF
    for flips in itertools.islice(itertools.combinations(range(0, 64, 3), NEAR_DISTANCE), 3000):
        other = base
        for bit in flips:
            other ^= 1 << bit
        assert set(bands(f"{base:016x}")) & set(bands(f"{other:016x}"))
