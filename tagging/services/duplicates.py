"""Duplicate detection within a user's images, through the fingerprint index.

An image is a duplicate of the *oldest* other image with the same bytes (exact) or a
pHash within NEAR_DISTANCE bits (near). Each image registers its fingerprints before
looking, so of two copies tagged at the same time at least one sees the other; when
the older copy is the one that sees the newer, it asks for the newer to be re-checked.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cmp_to_key

from ..adapters import Storage
from ..core.analysis.fingerprint import NEAR_DISTANCE, bands, distance
from ..core.keys import batch_of


def is_older(a: str, b: str) -> bool:
    """True when image ``a`` was uploaded before ``b`` (earlier batch, or same batch
    and earlier position)."""
    batch_a, batch_b = batch_of(a), batch_of(b)
    return batch_a > batch_b if batch_a != batch_b else a < b


@dataclass
class DuplicateCheck:
    original: str | None = None  # the oldest other copy, if any
    kind: str | None = None  # "exact" or "near"
    distance: int | None = None  # pHash bits apart (0 for exact)
    newer: list[str] = field(default_factory=list)  # newer copies that may need a re-check


class DuplicateFinder:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def check(self, user_key: str, image_id: str, sha256: str, phash: str) -> DuplicateCheck:
        table = self._storage.fingerprints
        table.register(user_key, image_id, sha256, phash, bands(phash))
        matches: dict[str, tuple[str, int]] = {}
        for other, (other_hash, other_sha) in table.matching(user_key, bands(phash)).items():
            bits = distance(phash, other_hash)
            if other == image_id or bits > NEAR_DISTANCE:
                continue
            matches[other] = ("exact", 0) if other_sha == sha256 else ("near", bits)
        older = [m for m in matches if is_older(m, image_id)]
        result = DuplicateCheck(newer=sorted(m for m in matches if not is_older(m, image_id)))
        if older:
            # Prefer an exact copy; among equals, the oldest image.
            original = min(older, key=lambda m: (matches[m][0] != "exact", _by_age(m)))
            result.original, (result.kind, result.distance) = original, matches[original]
        return result

    def forget(self, user_key: str, image_id: str, phash: str | None) -> None:
        """Remove an image's fingerprint rows (on delete)."""
        if phash:
            self._storage.fingerprints.unregister(user_key, image_id, bands(phash))


def _compare_age(a: str, b: str) -> int:
    return -1 if is_older(a, b) else (1 if is_older(b, a) else 0)


_by_age = cmp_to_key(_compare_age)  # sort key: oldest first
