"""The app's pHash is bit-identical to imagehash.phash (4.3.2), whose hashes are
stored in Fingerprints: duplicates found before the switch must still be found.

imagehash (and the scipy it imports) is a dev dependency only, for this test.
Covers photos at several sizes and through the app's own decode, random noise,
flat colours, gradients, mirrored / tiled images and checkerboards: the degenerate
images are where a DCT that leaves ±1e-13 instead of exact zeros flips bits.
"""
from __future__ import annotations

import io
from pathlib import Path

import imagehash  # dev dependency (requirements-dev.txt): a missing one fails, never skips
import numpy as np
from PIL import Image, ImageDraw

from tagging.core.analysis import decode
from tagging.core.analysis.fingerprint import perceptual_hash

PHOTOS = sorted((Path(__file__).parents[2] / "fixtures" / "photos").glob("*.[jp][pn]g"))


def _images() -> list[Image.Image]:
    rng = np.random.default_rng(20261201)
    out: list[Image.Image] = []
    for path in PHOTOS:
        data = path.read_bytes()
        photo = Image.open(io.BytesIO(data))
        photo.load()
        out += [photo, decode(data, 10**9).working, decode(data, 10**9).preview]
        out += [photo.resize((side, side + 5)) for side in (1, 17, 31, 32, 64, 300)]
        out += [photo.convert(mode) for mode in ("L", "RGBA", "P", "I;16", "CMYK")]
        small = np.asarray(photo.convert("RGB").resize((64, 64)))
        out += [
            photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
            Image.fromarray(np.concatenate([small, small[:, ::-1]], 1)),
            Image.fromarray(np.concatenate([small, small[::-1]], 0)),
            Image.fromarray(np.tile(small, (2, 2, 1))),
        ]
    for colour in ((0, 0, 0), (255, 255, 255), (128, 128, 128), (10, 200, 30)):
        out += [Image.new("RGB", (side, side), colour) for side in (1, 8, 32, 33, 100)]
    for step in (1, 2, 3, 4, 8, 16):
        out.append(Image.fromarray((np.indices((64, 64)).sum(0) // step % 2 * 255).astype(np.uint8)))
    for _ in range(200):
        width, height = (int(v) for v in rng.integers(1, 400, 2))
        out.append(Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)))
    for _ in range(100):
        width, height = (int(v) for v in rng.integers(1, 300, 2))
        ramp = np.linspace(0, 255, width)[None, :] + np.zeros((height, 1))
        out += [Image.fromarray(ramp.astype(np.uint8)), Image.fromarray(ramp.T.astype(np.uint8))]
        block = Image.new("RGB", (width, height), tuple(int(v) for v in rng.integers(0, 256, 3)))
        corner = tuple(int(v) for v in rng.integers(0, 256, 3))
        ImageDraw.Draw(block).rectangle([0, 0, width // 2, height // 3], fill=corner)
        out.append(block)
    return out


def test_perceptual_hash_equals_imagehash_phash_bit_for_bit():
    images = _images()
    assert len(images) > 600
    mismatches = [
        (image.size, image.mode, expected, got)
        for image in images
        if (expected := str(imagehash.phash(image))) != (got := perceptual_hash(image))
    ]
    assert mismatches == []


def test_the_app_does_not_import_imagehash_or_scipy():
    import subprocess
    import sys

    code = (
        "import sys; from tagging.core.analysis import analyse; "
        f"analyse(open({str(PHOTOS[0])!r}, 'rb').read(), 10**9); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('imagehash', 'scipy')))"
    )
    root = Path(__file__).parents[3]
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
