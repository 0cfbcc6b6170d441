"""Traits of the pixels: sharpness, greyscale, animation, transparency."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..tags import Contribution, Tag
from ..vocabulary import TagSource
from .decode import DecodedImage

if TYPE_CHECKING:  # numpy loads on the first image, not when the app is imported
    import numpy as np

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

    name = TagSource.TRAITS

    def analyse(self, image: DecodedImage) -> Contribution:
        import numpy as np

        sample = image.preview
        rgb = np.asarray(sample)
        red, green, blue = rgb[..., 0], rgb[..., 1], rgb[..., 2]
        # Per-channel maximum/minimum: numpy reduces a 3-wide last axis ~20x slower.
        chroma = float((np.maximum(np.maximum(red, green), blue) - np.minimum(np.minimum(red, green), blue)).mean())
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
