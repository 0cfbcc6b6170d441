"""Dominant colours and brightness, from the working image."""
from __future__ import annotations

import colorsys
from typing import cast

from ..tags import Contribution, Tag
from ..vocabulary import TagSource
from .decode import DecodedImage

SAMPLE_SIDE = 64  # px: colour statistics need few pixels
PALETTE_SIZE = 6
MIN_TAG_SHARE = 0.15  # a colour covering less of the image is a fact, not a tag
DARK, BRIGHT = 0.25, 0.75  # mean luma thresholds (0..1) for the dark/bright tags


def colour_name(rgb: tuple[int, int, int]) -> str:
    """A basic colour word for an sRGB triple (0..255 each)."""
    r, g, b = (c / 255 for c in rgb)
    hue, sat, val = colorsys.rgb_to_hsv(r, g, b)
    degrees = hue * 360
    if val < 0.18:
        return "black"
    if sat < 0.15 or (sat < 0.25 and val < 0.35):
        return "white" if val > 0.85 else "grey"
    if degrees < 15 or degrees >= 345:
        return "brown" if val < 0.55 and sat > 0.35 else "red"
    if degrees < 45:
        return "brown" if val < 0.65 else "orange"
    if degrees < 70:
        return "yellow"
    if degrees < 165:
        return "green"
    if degrees < 195:
        return "cyan"
    if degrees < 255:
        return "blue"
    if degrees < 290:
        return "purple"
    return "pink"


class ColourAnalyser:
    """Tags the colours that cover at least 15 % of the image; facts: palette, brightness."""

    name = TagSource.COLOUR

    def analyse(self, image: DecodedImage) -> Contribution:
        from PIL import Image, ImageStat  # loaded by the decode already; lazy for cold start

        sample = image.preview.copy()
        sample.thumbnail((SAMPLE_SIDE, SAMPLE_SIDE), Image.Resampling.BILINEAR)
        # Fast octree: ~10x cheaper than median cut at this size, same dominant colours.
        quantised = sample.quantize(colors=PALETTE_SIZE, method=Image.Quantize.FASTOCTREE)
        palette = quantised.getpalette() or []
        total = sample.size[0] * sample.size[1]
        shares: dict[str, float] = {}
        swatches = []
        # A palette image's colours: (pixel count, palette index).
        colours = cast(list[tuple[int, int]], quantised.getcolors() or [])
        for count, index in sorted(colours, reverse=True):
            rgb = cast(tuple[int, int, int], tuple(palette[index * 3 : index * 3 + 3]))
            name = colour_name(rgb)
            share = count / total
            shares[name] = shares.get(name, 0.0) + share
            swatches.append({"name": name, "hex": "#{:02x}{:02x}{:02x}".format(*rgb), "share": round(share, 3)})
        brightness = ImageStat.Stat(sample.convert("L")).mean[0] / 255
        tags = [Tag(name, min(share, 1.0), self.name) for name, share in shares.items() if share >= MIN_TAG_SHARE]
        if brightness < DARK:
            tags.append(Tag("dark", round(1 - brightness / DARK, 3) or 0.01, self.name))
        elif brightness > BRIGHT:
            tags.append(Tag("bright", round((brightness - BRIGHT) / (1 - BRIGHT), 3) or 0.01, self.name))
        return Contribution(
            tags=tags,
            facts={
                "dominant_colours": sorted(
                    ({"name": n, "share": round(s, 3)} for n, s in shares.items()), key=lambda c: -c["share"]
                ),
                "palette": swatches,
                "brightness": round(brightness, 3),
            },
        )
