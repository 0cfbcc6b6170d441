"""Fingerprints for duplicate detection: exact (SHA-256 of the bytes) and perceptual.

The perceptual hash is imagehash's pHash (64 bits, DCT of a 32x32 grey image) of the
working image: it survives resizing and recompression, so two encodings of one photo
are a few bits apart while different photos are typically ~32 bits apart.
"""
from __future__ import annotations

import hashlib

import imagehash
from PIL import Image

NEAR_DISTANCE = 3  # bits: at or below, two pHashes are the same picture
# The 64-bit hash cut into 4 bands of 16 bits: two hashes within 3 bits differ in at
# most 3 bands, so they share at least one (pigeonhole). An index on bands finds every
# near duplicate with 4 look-ups, reading ~4/65536 of the other images. (Resized and
# recompressed copies of the fixture photos are 0-2 bits apart; different photos 26+.)
BAND_BITS = (16, 16, 16, 16)


def content_hash(data: bytes) -> str:
    """SHA-256 of the file bytes, lowercase hex."""
    return hashlib.sha256(data).hexdigest()


def perceptual_hash(working: Image.Image) -> str:
    """64-bit pHash as 16 lowercase hex digits."""
    return str(imagehash.phash(working))


def distance(a: str, b: str) -> int:
    """Hamming distance in bits between two hex pHashes."""
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def bands(phash: str) -> list[str]:
    """Index keys of the hash's bands, ``<band number><value as 4 hex digits>``."""
    value, shift, keys = int(phash, 16), 64, []
    for number, width in enumerate(BAND_BITS):
        shift -= width
        keys.append(f"{number}{(value >> shift) & ((1 << width) - 1):04x}")
    return keys
