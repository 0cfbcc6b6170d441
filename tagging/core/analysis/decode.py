"""Decode an image once, small: the one Pillow decode every analyser shares.

JPEGs are decoded with draft mode (DCT scaling), other formats with ``reduce``, to a
*working image* whose shorter side is at least :data:`WORKING_MIN_SIDE` pixels
where the source allows. Everything downstream (model input, thumbnail, colours,
hashes) derives from that working image; nothing decodes the full image again.
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any, cast

from ..vocabulary import ErrorCode
from . import budget as _budget

if TYPE_CHECKING:  # Pillow loads on first use, not when the app is imported (cold start)
    from PIL import Image

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
# Formats whose decoders hold more than Pillow's raster while decoding, in rasters:
# HEIF/AVIF decode into a buffer of their own first; WebP goes through libwebp's
# animation decoder (two canvases), a bytes copy of the frame and then Pillow's image
# (measured: a 100 MP WebP peaks at 1.5 GB, a 100 MP PNG or TIFF at 0.38 GB).
_DECODE_COPIES = {"HEIF": 2, "AVIF": 2, "WEBP": 4}
# Allocations from this size up are mapped and unmapped on their own (see _pil).
_MMAP_THRESHOLD_BYTES = 8 * 1024 * 1024


@lru_cache(maxsize=1)
def _pil() -> Any:  # the PIL.Image module
    """PIL.Image, set up once for the app.

    - HEIC/HEIF from phones through pi-heif, pillow-heif's decode-only build (libheif
      and libde265, LGPL, without the GPL x265 encoder): the app never writes HEIC.
      AVIF is Pillow's own (libavif).
    - Pillow's own decompression-bomb limit is off: the app's limit (``max_pixels``) is
      checked from the header in :func:`_open`, per call, for every format. Pillow's
      is process-wide (a warning from 89 MP, an error from 179 MP), and turning its
      warning into an error takes ``warnings.catch_warnings``, which is not
      thread-safe: concurrent decodes raced on the warning filters, so a 99.8 MP PNG
      was refused alone and decoded when five ran at once.
    """
    import pi_heif
    from PIL import Image

    pi_heif.register_heif_opener()
    Image.MAX_IMAGE_PIXELS = None
    _return_large_blocks_to_the_os()
    return Image


def _return_large_blocks_to_the_os() -> None:
    """Fix glibc's mmap threshold at 8 MB (Linux; elsewhere nothing happens).

    Pillow allocates a raster in 16 MB blocks. glibc raises its mmap threshold after the
    first such block is freed, so later rasters come from per-thread arenas, which keep
    freed memory: 16 concurrent 100 MP decodes left 4.6 GB resident after they had all
    finished. A fixed threshold keeps every large block mapped on its own and returned
    when freed; smaller allocations (request bodies, 4 MB download chunks) are unchanged.
    """
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(-3, _MMAP_THRESHOLD_BYTES)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        pass


class UndecodableImage(Exception):
    """The bytes are not an image this app can decode.

    ``code`` is a stable machine-readable reason (``unsupported_format``,
    ``corrupt_image``, ``image_too_large``); the message explains it to a person.
    """

    def __init__(self, code: ErrorCode, message: str) -> None:
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
        preview.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE), _pil().Resampling.BICUBIC)
        return preview


def _open(data: bytes, max_pixels: int) -> Image.Image:
    """Open (header only) and check the format and the declared pixel count."""
    if not data:
        raise UndecodableImage(ErrorCode.EMPTY_FILE, "the file is empty")
    Image = _pil()
    from PIL import UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise UndecodableImage(ErrorCode.UNSUPPORTED_FORMAT, "the bytes are not a recognised image format") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise UndecodableImage(ErrorCode.CORRUPT_IMAGE, f"the image header is invalid: {error}") from None
    if image.format not in SUPPORTED_FORMATS:
        image.close()
        raise UndecodableImage(
            ErrorCode.UNSUPPORTED_FORMAT,
            f"{image.format} images are not accepted; send one of {', '.join(sorted(SUPPORTED_FORMATS))}",
        )
    width, height = image.size
    if width <= 0 or height <= 0:
        image.close()
        raise UndecodableImage(ErrorCode.CORRUPT_IMAGE, "the image declares no pixels")
    if width * height > max_pixels:
        image.close()
        raise UndecodableImage(
            ErrorCode.IMAGE_TOO_LARGE, f"the image is {width}x{height} pixels; at most {max_pixels} pixels are allowed"
        )
    return image


def sniff_format(data: bytes, max_pixels: int) -> tuple[str, str, int, int]:
    """Identify an upload from its bytes (header only, no pixel decode).

    Returns (Pillow format, MIME type, width, height). Raises UndecodableImage.
    """
    image = _open(data, max_pixels)
    with image:
        fmt = cast(str, image.format)  # _open accepts only SUPPORTED_FORMATS
        return fmt, SUPPORTED_FORMATS[fmt], image.size[0], image.size[1]


def raster_bytes(image: Image.Image) -> int:
    """Bytes of the raster ``image.load()`` will allocate, from the header (and, for a
    JPEG, after ``draft``): Pillow keeps 1 byte a pixel for 1/L/P, 2 for I;16 and 4 for
    everything else (RGB is stored as RGBX), times the copies the format's decoder
    holds at its peak (see _DECODE_COPIES), plus the 4-byte copy a mode that
    ``Image.reduce`` cannot average (see _UNREDUCIBLE) is converted to first."""
    mode = image.mode
    per_pixel = 1 if mode in ("1", "L", "P") else 2 if mode.startswith("I;16") else 4
    copies = _DECODE_COPIES.get(image.format or "", 1)
    converted = 4 if _unreducible(mode) else 0
    return image.size[0] * image.size[1] * (per_pixel * copies + converted)


def _unreducible(mode: str) -> bool:
    """Modes ``Image.reduce`` refuses (1, P, I;16*) or would average wrongly (the palette
    indices of PA): converted to a direct mode before reducing."""
    return mode in ("1", "P", "PA") or mode.startswith("I;16")


def _reducible(image: Image.Image) -> Image.Image:
    """``image`` in a mode whose pixels can be averaged: RGBA for a palette with any
    transparency, RGB for other palettes, L for bilevel, I for 16-bit grey."""
    mode = image.mode
    if mode in ("P", "PA"):
        return image.convert("RGBA" if mode == "PA" or "transparency" in image.info else "RGB")
    if mode == "1":
        return image.convert("L")
    return image.convert("I") if mode.startswith("I;16") else image


def _flatten(image: Image.Image) -> tuple[Image.Image, bool]:
    """(RGB with any transparency composited onto white, whether any pixel is see-through)."""
    Image = _pil()
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        # One band: (min, max) as ints.
        transparent = cast(tuple[int, int], rgba.getchannel("A").getextrema())[0] < 255
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB"), transparent
    return image.convert("RGB"), False


def decode(data: bytes, max_pixels: int, budget: _budget.DecodeBudget | None = None) -> DecodedImage:
    """Decode ``data`` once into a :class:`DecodedImage`. Raises UndecodableImage.

    Memory is bounded by ``max_pixels`` (checked from the header before any pixel is
    decoded), by JPEG draft mode, which never materialises the full-size raster, and
    by ``budget`` (default: the process's, see :mod:`.budget`): the raster's bytes are
    reserved before it is decoded and released once it is freed.
    """
    image = _open(data, max_pixels)
    try:
        return _decode(image, budget or _budget.current())
    except UndecodableImage:
        raise
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise UndecodableImage(ErrorCode.CORRUPT_IMAGE, f"the image data is invalid or truncated: {error}") from None
    finally:
        image.close()


def _decode(image: Image.Image, budget: _budget.DecodeBudget) -> DecodedImage:
    Image = _pil()
    fmt = cast(str, image.format)  # _open accepts only SUPPORTED_FORMATS
    # The frame the file opens at: the first, or a HEIF's primary image (the one viewers
    # show; it need not be the first of several), as sniff_format measured it.
    frames = int(getattr(image, "n_frames", 1) or 1)
    width, height = image.size
    mode = image.mode
    if fmt == "JPEG":
        scale = WORKING_MIN_SIDE / min(image.size)
        if scale < 1:
            image.draft("RGB", (math.ceil(image.size[0] * scale), math.ceil(image.size[1] * scale)))
    # Everything from here may decode pixels: a PNG's getexif() loads the whole image
    # (an eXIf chunk may follow the pixel data).
    with budget.reserve(raster_bytes(image)):
        exif = image.getexif()
        orientation = int(exif.get(_ORIENTATION_TAG, 1) or 1)
        if orientation in (5, 6, 7, 8):
            width, height = height, width
        image.load()
        factor = int(min(image.size) // WORKING_MIN_SIDE)
        if factor >= 2:
            source = _reducible(image) if _unreducible(image.mode) else image
            source = source.reduce(factor)
        else:
            source = image
        working, has_alpha = _flatten(source)
        del source
        image.close()  # free the full raster before its reservation ends
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


_TRANSPOSE = {2: "FLIP_LEFT_RIGHT", 3: "ROTATE_180", 4: "FLIP_TOP_BOTTOM", 5: "TRANSPOSE", 6: "ROTATE_270",
              7: "TRANSVERSE", 8: "ROTATE_90"}  # fmt: skip


def _apply_orientation(image: Image.Image, orientation: int) -> Image.Image:
    method = _TRANSPOSE.get(orientation)
    return image.transpose(_pil().Transpose[method]) if method else image
