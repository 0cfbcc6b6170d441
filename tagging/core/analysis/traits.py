"""Traits of the pixels: sharpness, greyscale, animation, transparency."""
from __future__ import annotations

import numpy as np
from PIL import Image

from ..tags import Contribution, Tag
from .decode import DecodedImage

SAMPLE_SIDE = 256  # px: sharpness and chroma are measured at this size
MONOCHROME_CHROMA = 6.0  # mean (max - min) of RGB, 0..255, at or below which an image is greyscale


def laplacian_variance(grey: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian of a 2-D float array (a focus measure)."""
    if grey.shape[0] < 3 or grey.shape[1] < 3:
        return 0.0
    lap = -4 * grey[1:-1, 1:-1] + grey[:-2, 1:-1] + grey[2:, 1:-1] + grey[1:-1, :-2] + grey[1:-1, 2:]
    return float(lap.var())


class TraitsAnalyser:
    """Facts ``sharpness`` (Laplacian variance at 256 px; higher is sharper),
    ``greyscale``, ``frames``, ``transparent``; tags ``monochrome``, ``animated``,
    ``transparent``. No "blurry" tag: a focus measure cannot tell a blurred photo from
    a smooth one, and a wrong tag is worse than none."""

    name = "traits"

    def analyse(self, image: DecodedImage) -> Contribution:
        sample = image.working
        if max(sample.size) > SAMPLE_SIDE:
            sample = sample.copy()
            sample.thumbnail((SAMPLE_SIDE, SAMPLE_SIDE), Image.Resampling.BILINEAR)
        rgb = np.asarray(sample, dtype=np.int16)
        chroma = float((rgb.max(axis=2) - rgb.min(axis=2)).mean())
        sharpness = laplacian_variance(np.asarray(sample.convert("L"), dtype=np.float32))
        greyscale = chroma <= MONOCHROME_CHROMA
        tags = []
        if greyscale:
            tags.append(Tag("monochrome", 1.0, self.name))
        if image.frames > 1:
            tags.append(Tag("animated", 1.0, self.name))
        if image.has_alpha:
            tags.append(Tag("transparent", 1.0, self.name))
        return Contribution(
            tags=tags,
            facts={
                "sharpness": round(sharpness, 1),
                "greyscale": greyscale,
                "frames": image.frames,
                "animated": image.frames > 1,
                "transparent": image.has_alpha,
            },
        )
