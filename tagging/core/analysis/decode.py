"""Decode an image once, small: the one Pillow decode every analyser shares.

JPEGs are decoded with draft mode (DCT scaling), other formats with ``reduce``, to a
*working image* whose shorter side is at least :data:`WORKING_MIN_SIDE` pixels
where the source allows. Everything downstream (model input, thumbnail, colours,
hashes) derives from that working image; nothing decodes the full image again.
"""
from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass
from functools import cached_property

import pillow_heif
from PIL import Image, UnidentifiedImageError

pillow_heif.register_heif_opener()  # HEIC/HEIF from phones; AVIF is built into Pillow

# Pillow format names accepted by the product, mapped to their MIME types.
SUPPORTED_FORMATS: dict[str, str] = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
    "BMP": "image/bmp",
    "TIFF": "image/tiff",
    "HEIF": "image/heic",
    "AVIF": "image/avif",
}
WORKING_MIN_SIDE = 320  # px: covers the 256 px thumbnail and the 224 px model crop
WORKING_MAX_SIDE = 640  # px: caps the work of every analyser
PREVIEW_SIDE = 256  # px, longest side of the shared preview (and of the thumbnail)
_ORIENTATION_TAG = 0x0112


class UndecodableImage(Exception):
    """The bytes are not an image this app can decode.

    ``code`` is a stable machine-readable reason (``unsupported_format``,
    ``corrupt_image``, ``image_too_large``); the message explains it to a person.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class DecodedImage:
    """An image decoded once.

    ``width``/``height``: full-size pixels after EXIF orientation. ``has_alpha``: some
    pixel is at least partly transparent (an opaque alpha channel does not count). ``working``: RGB,
    oriented, alpha flattened onto white, shorter side >= WORKING_MIN_SIDE where the
    source is that large, longer side <= WORKING_MAX_SIDE.
    """

    format: str
    mime_type: str
    width: int
    height: int
    mode: str
    frames: int
    has_alpha: bool
    exif_orientation: int
    exif: Image.Exif
    working: Image.Image

    @cached_property
    def preview(self) -> Image.Image:
        """The working image at most PREVIEW_SIDE px on its longest side, made once:
        the thumbnail, colours, traits and pHash all read it."""
        if max(self.working.size) <= PREVIEW_SIDE:
            return self.working
        preview = self.working.copy()
        preview.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE), Image.Resampling.BICUBIC)
        return preview


def _open(data: bytes, max_pixels: int) -> Image.Image:
    if not data:
        raise UndecodableImage("empty_file", "the file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UndecodableImage("image_too_large", "the image declares more pixels than allowed") from None
    except UnidentifiedImageError:
        raise UndecodableImage("unsupported_format", "the bytes are not a recognised image format") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise UndecodableImage("corrupt_image", f"the image header is invalid: {error}") from None
    if image.format not in SUPPORTED_FORMATS:
        raise UndecodableImage(
            "unsupported_format",
            f"{image.format} images are not accepted; send one of {', '.join(sorted(SUPPORTED_FORMATS))}",
        )
    width, height = image.size
    if width <= 0 or height <= 0:
        raise UndecodableImage("corrupt_image", "the image declares no pixels")
    if width * height > max_pixels:
        raise UndecodableImage(
            "image_too_large", f"the image is {width}x{height} pixels; at most {max_pixels} pixels are allowed"
        )
    return image


def sniff_format(data: bytes, max_pixels: int) -> tuple[str, str, int, int]:
    """Identify an upload from its bytes (header only, no pixel decode).

    Returns (Pillow format, MIME type, width, height). Raises UndecodableImage.
    """
    image = _open(data, max_pixels)
    with image:
        return image.format, SUPPORTED_FORMATS[image.format], image.size[0], image.size[1]


def _flatten(image: Image.Image) -> tuple[Image.Image, bool]:
    """(RGB with any transparency composited onto white, whether any pixel is see-through)."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        transparent = rgba.getchannel("A").getextrema()[0] < 255
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB"), transparent
    return image.convert("RGB"), False


def decode(data: bytes, max_pixels: int) -> DecodedImage:
    """Decode ``data`` once into a :class:`DecodedImage`. Raises UndecodableImage.

    Memory is bounded by ``max_pixels`` (checked from the header before any pixel is
    decoded) and by JPEG draft mode, which never materialises the full-size raster.
    """
    image = _open(data, max_pixels)
    try:
        fmt = image.format
        frames = int(getattr(image, "n_frames", 1) or 1)
        if frames > 1:
            image.seek(0)
        exif = image.getexif()
        orientation = int(exif.get(_ORIENTATION_TAG, 1) or 1)
        width, height = image.size
        if orientation in (5, 6, 7, 8):
            width, height = height, width
        mode = image.mode
        if fmt == "JPEG":
            scale = WORKING_MIN_SIDE / min(image.size)
            if scale < 1:
                image.draft("RGB", (math.ceil(image.size[0] * scale), math.ceil(image.size[1] * scale)))
        image.load()
        factor = int(min(image.size) // WORKING_MIN_SIDE)
        if factor >= 2:
            image = image.reduce(factor)
        working, has_alpha = _flatten(image)
        if orientation != 1:
            working = _apply_orientation(working, orientation)
        if max(working.size) > WORKING_MAX_SIDE:
            working.thumbnail((WORKING_MAX_SIDE, WORKING_MAX_SIDE), Image.Resampling.BICUBIC)
        return DecodedImage(
            format=fmt,
            mime_type=SUPPORTED_FORMATS[fmt],
            width=width,
            height=height,
            mode=mode,
            frames=frames,
            has_alpha=has_alpha,
            exif_orientation=orientation,
            exif=exif,
            working=working,
        )
    except UndecodableImage:
        raise
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as error:
        raise UndecodableImage("corrupt_image", f"the image data is invalid or truncated: {error}") from None
    finally:
        image.close()


_TRANSPOSE = {
    2: [Image.Transpose.FLIP_LEFT_RIGHT],
    3: [Image.Transpose.ROTATE_180],
    4: [Image.Transpose.FLIP_TOP_BOTTOM],
    5: [Image.Transpose.TRANSPOSE],
    6: [Image.Transpose.ROTATE_270],
    7: [Image.Transpose.TRANSVERSE],
    8: [Image.Transpose.ROTATE_90],
}


def _apply_orientation(image: Image.Image, orientation: int) -> Image.Image:
    for method in _TRANSPOSE.get(orientation, []):
        image = image.transpose(method)
    return image
