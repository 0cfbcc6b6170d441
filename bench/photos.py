"""Benchmark inputs: 12-megapixel phone-like JPEGs made from the fixture photos.

Each fixture photo is upscaled to 4000x3000 (landscape) or 3000x4000 (portrait),
given sensor-like noise and saved at quality 90, like a phone camera's output
(2-4 MB). Deterministic: the same files every run.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "photos"
PHONE_SIZE = (4000, 3000)


def fixture_photos() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(FIXTURES.glob("*.[jp][pn]g"))}


def phone_jpeg(source: bytes, seed: int) -> bytes:
    image = Image.open(io.BytesIO(source)).convert("RGB")
    size = PHONE_SIZE if image.width >= image.height else PHONE_SIZE[::-1]
    big = np.asarray(image.resize(size, Image.Resampling.BICUBIC), dtype=np.float32)
    noise = np.random.default_rng(seed).normal(0, 6, big.shape).astype(np.float32)
    out = io.BytesIO()
    Image.fromarray(np.clip(big + noise, 0, 255).astype(np.uint8), "RGB").save(out, "JPEG", quality=90)
    return out.getvalue()


def phone_photos(count: int | None = None) -> dict[str, bytes]:
    """``count`` (default: one per fixture photo) 12 MP JPEGs, keyed by a file name."""
    sources = list(fixture_photos().items())
    count = len(sources) if count is None else count
    return {
        f"phone-{i:02d}-{sources[i % len(sources)][0].rsplit('.', 1)[0]}.jpg": phone_jpeg(
            sources[i % len(sources)][1], i
        )
        for i in range(count)
    }
