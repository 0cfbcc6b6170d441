import io
import struct
import zlib

import pytest
from PIL import Image

from tagging.core.analysis import UndecodableImage, decode, sniff_format
from tagging.core.analysis.decode import SUPPORTED_FORMATS, WORKING_MAX_SIDE, WORKING_MIN_SIDE
from tests.support import images

BIG = 10**9


def test_the_accepted_formats_are_those_the_readme_names():
    # README "Uploads": JPEG, PNG, GIF, WebP, BMP, TIFF, HEIC/HEIF and AVIF; each one
    # is encoded and decoded by the test below.
    assert SUPPORTED_FORMATS == {
        "JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp",
        "BMP": "image/bmp", "TIFF": "image/tiff", "HEIF": "image/heic", "AVIF": "image/avif",
    }  # fmt: skip


@pytest.mark.parametrize(("fmt", "mime"), sorted(SUPPORTED_FORMATS.items()))
def test_every_accepted_format_is_recognised_from_bytes(fmt, mime):
    data = images.solid(fmt=fmt, size=(40, 30))
    assert sniff_format(data, BIG) == (fmt, mime, 40, 30)
    decoded = decode(data, BIG)
    assert decoded.format == fmt and (decoded.width, decoded.height) == (40, 30)
    assert decoded.working.mode == "RGB"


@pytest.mark.parametrize(
    ("data", "code"),
    [(b"", "empty_file"), (b"<html><body>hi</body></html>", "unsupported_format"),
     (b"%PDF-1.4 ...", "unsupported_format"), (images.solid(fmt="PPM"), "unsupported_format"),
     (images.solid(fmt="ICO"), "unsupported_format")],
)  # fmt: skip
def test_non_images_and_unaccepted_formats_are_refused(data, code):
    with pytest.raises(UndecodableImage) as error:
        sniff_format(data, BIG)
    assert error.value.code == code


def test_truncated_jpeg_fails_as_corrupt():
    data = images.solid(size=(800, 600))
    with pytest.raises(UndecodableImage) as error:
        decode(data[: len(data) // 3], BIG)
    assert error.value.code == "corrupt_image"


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares width x height but holds one tiny IDAT: a decompression bomb header."""
    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 10)) + chunk(b"IEND", b"")


def test_pixel_limit_refuses_bombs_before_decoding():
    bomb = _png_header_only(100_000, 100_000)
    for check in (sniff_format, decode):
        with pytest.raises(UndecodableImage) as error:
            check(bomb, 50_000_000)
        assert error.value.code == "image_too_large"


def test_exif_orientation_is_applied():
    decoded = decode(images.with_orientation(6, size=(60, 30)), BIG)
    assert (decoded.width, decoded.height) == (30, 60)
    assert decoded.working.size == (30, 60)
    assert decoded.exif_orientation == 6


def test_alpha_is_flattened_onto_white():
    image = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
    out = io.BytesIO()
    image.save(out, "PNG")
    decoded = decode(out.getvalue(), BIG)
    assert decoded.has_alpha and decoded.working.getpixel((5, 5)) == (255, 255, 255)


def test_large_jpeg_decodes_to_a_bounded_working_image():
    image = Image.effect_noise((3000, 2000), 60).convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    decoded = decode(out.getvalue(), BIG)
    assert (decoded.width, decoded.height) == (3000, 2000)
    assert min(decoded.working.size) >= WORKING_MIN_SIDE // 2
    assert max(decoded.working.size) <= WORKING_MAX_SIDE


def _large(mode: str, fmt: str) -> bytes:
    """A 1000x800 image in ``mode`` whose halves differ (red | blue for a palette, dark |
    light otherwise): large enough that decode reduces it before flattening."""
    if mode == "P":
        image = Image.new("RGB", (1000, 800), (200, 30, 30))
        image.paste((20, 40, 220), (500, 0, 1000, 800))
        image = image.convert("P")
    else:
        image = Image.new(mode, (1000, 800), 0)
        image.paste(1 if mode == "1" else 60000, (500, 0, 1000, 800))
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


@pytest.mark.parametrize(("mode", "fmt"), [("P", "GIF"), ("P", "PNG"), ("1", "PNG"), ("1", "TIFF"), ("I;16", "PNG")])
def test_large_palette_bilevel_and_16_bit_images_are_reduced_in_a_direct_mode(mode, fmt):
    # Image.reduce refuses these modes ("image has wrong mode"); a palette must not be
    # averaged as indices either. Scans and screenshots are often such PNGs and GIFs.
    decoded = decode(_large(mode, fmt), BIG)
    assert decoded.mode == mode and decoded.working.mode == "RGB"
    assert min(decoded.working.size) >= WORKING_MIN_SIDE and max(decoded.working.size) <= WORKING_MAX_SIDE
    left, right = decoded.working.getpixel((10, 10)), decoded.working.getpixel((decoded.working.width - 10, 10))
    if mode == "P":
        assert left[0] > 150 > left[2] and right[2] > 150 > right[0]  # red stays red, blue stays blue
    else:
        assert left[0] < 64 < 192 < right[0]  # dark stays dark, light stays light
