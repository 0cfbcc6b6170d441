"""Fingerprints for duplicate detection: exact (SHA-256 of the bytes) and perceptual.

The perceptual hash is pHash (64 bits, DCT of a 32x32 grey image) of the working
image: it survives resizing and recompression, so two encodings of one photo are a
few bits apart while different photos are typically ~32 bits apart.

It is bit-identical to ``imagehash.phash`` (4.3.2), which the app used before and
whose hashes are stored in ``Fingerprints``: the same Lanczos resize to 32x32 grey,
the same unnormalised DCT-II on columns then rows (only the 8x8 low frequencies are
computed), the same "above the median" bits. imagehash imported scipy (~110 MB
installed) for that one 32x32 DCT; here it is a few numpy products. The DCT uses the
even/odd butterfly, so coefficients that are mathematically zero (a flat image, a
gradient, a mirrored image) come out exactly zero, as scipy's FFT gives them: with a
plain cosine matrix they would be ±1e-13 noise and flip bits against the median.
``tests/core/analysis/test_fingerprint.py`` compares both on hundreds of images.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy and Pillow load on first use, not at import (cold start)
    import numpy as np
    from PIL import Image

NEAR_DISTANCE = 3  # bits: at or below, two pHashes are the same picture
# The 64-bit hash cut into 4 bands of 16 bits: two hashes within 3 bits differ in at
# most 3 bands, so they share at least one (pigeonhole). An index on bands finds every
# near duplicate with 4 look-ups, reading ~4/65536 of the other images. (Resized and
# recompressed copies of the fixture photos are 0-2 bits apart; different photos 26+.)
BAND_BITS = (16, 16, 16, 16)
HASH_SIDE = 8  # bits per side of the hash
DCT_SIDE = 32  # grey image side (HASH_SIDE x imagehash's highfreq_factor 4)


def content_hash(data: bytes) -> str:
    """SHA-256 of the file bytes, lowercase hex."""
    return hashlib.sha256(data).hexdigest()


@lru_cache(maxsize=1)
def _cosines() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """2*cos(pi*k*(2n+1)/(2N)) for the odd k < 8 at each butterfly level (N = 32, 16, 8)."""
    import numpy as np

    def rows(ks: list[int], length: int) -> np.ndarray:
        n = np.arange(length // 2)
        return 2 * np.cos(np.pi * np.asarray(ks)[:, None] * (2 * n + 1) / (2 * length))

    return rows([1, 3, 5, 7], 32), rows([1, 3], 16), rows([1], 8)


def _dct_low(x: np.ndarray) -> np.ndarray:
    """The first 8 unnormalised DCT-II coefficients along axis 0 of a (32, M) array.

    y[k] = 2 sum_n x[n] cos(pi k (2n+1) / 2N). Folding x[n] with x[N-1-n] leaves odd k
    on the differences and even k as the half-length DCT of the sums, three times.
    """
    import numpy as np

    c32, c16, c8 = _cosines()
    s1, d1 = x[:16] + x[31:15:-1], x[:16] - x[31:15:-1]
    s2, d2 = s1[:8] + s1[15:7:-1], s1[:8] - s1[15:7:-1]
    s3, d3 = s2[:4] + s2[7:3:-1], s2[:4] - s2[7:3:-1]
    out = np.empty((HASH_SIDE, *x.shape[1:]))
    out[1::2] = c32 @ d1
    out[2::4] = c16 @ d2
    out[4] = c8 @ d3
    out[0] = 2 * s3.sum(axis=0)
    return out


def perceptual_hash(working: Image.Image) -> str:
    """64-bit pHash as 16 lowercase hex digits (equal to ``str(imagehash.phash(working))``)."""
    import numpy as np
    from PIL import Image

    grey = working.convert("L").resize((DCT_SIDE, DCT_SIDE), Image.Resampling.LANCZOS)
    pixels = np.asarray(grey, dtype=np.float64)
    low = _dct_low(_dct_low(pixels).T).T  # columns first, then rows, as imagehash
    bits = (low > np.median(low)).ravel()
    return f"{int(np.packbits(bits).view('>u8')[0]):016x}"


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
