"""HEIC through pi-heif, the app's decoder, with pillow-heif (dev only) installed beside it.

The HEIC test images are encoded with pillow-heif (pi-heif has no encoder); the app
decodes them with pi-heif and never imports pillow-heif. The first test runs the app in
a fresh interpreter, where nothing but the app decides what is imported.
"""
from __future__ import annotations

import io
import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pillow_heif
from PIL import Image, ImageChops

from tagging.core.analysis import decode, sniff_format
from tagging.core.analysis.decode import WORKING_MIN_SIDE, _pil
from tests.support import images

ROOT = Path(__file__).resolve().parents[3]
PHOTO = ROOT / "tests" / "fixtures" / "photos" / "chelsea.png"
BIG = 10**9
RED, BLUE = (220, 20, 20), (20, 20, 220)

CHILD = r"""
import json, sys
root, heic, avif = sys.argv[1:4]
sys.path.insert(0, root)

import function_app
function_app.app.get_functions()  # the worker indexes the app first
from tagging.core.analysis import analyse

with open(heic, "rb") as f:
    analysis = analyse(f.read(), max_pixels=50_000_000)
with open(avif, "rb") as f:
    avif_format = analyse(f.read(), max_pixels=50_000_000).facts["format"]
from PIL import Image

print(json.dumps({
    "format": analysis.facts["format"],
    "avif_format": avif_format,
    "tags": [[t.name, t.source, t.confidence] for t in analysis.tags],
    "heif_opener": Image.OPEN["HEIF"][0].__module__,
    "imported": sorted({n.split(".")[0] for n in sys.modules if n.split(".")[0] in ("pillow_heif", "pi_heif")}),
}))
"""


def _rgb(colour: tuple[int, int, int], size: tuple[int, int]) -> Image.Image:
    return Image.new("RGB", size, colour)


def _close(pixel: tuple[int, ...], colour: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 12 for a, b in zip(pixel, colour, strict=True))


def test_the_app_tags_a_heic_with_pi_heif_and_never_imports_pillow_heif(tmp_path):
    heic, avif = tmp_path / "chelsea.heic", tmp_path / "chelsea.avif"
    photo = Image.open(PHOTO).convert("RGB")
    heic.write_bytes(images.heic([photo]))
    photo.save(avif, "AVIF", quality=90)
    # -I: no PYTHONPATH, no user site, no cwd, as pillow-heif sits in the same venv.
    done = subprocess.run(
        [sys.executable, "-I", "-c", CHILD, str(ROOT), str(heic), str(avif)],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["imported"] == ["pi_heif"], result
    assert result["heif_opener"].startswith("pi_heif."), result
    assert (result["format"], result["avif_format"]) == ("heif", "avif")  # AVIF is Pillow's own
    tags = {name: (source, confidence) for name, source, confidence in result["tags"]}
    assert tags["cat"][0] == "classifier" and tags["cat"][1] > 0.5, result["tags"]


def test_heic_orientation_is_applied_once():
    # Stored 60x30, red | blue, shown rotated 90° CW: 30x60, red above blue. libheif
    # applies the transformation and pi-heif resets the EXIF tag to 1, so the app's own
    # EXIF rotation must not turn it again.
    stored = _rgb(RED, (60, 30))
    stored.paste(BLUE, (30, 0, 60, 30))
    data = images.heic([stored], orientation=6)
    assert sniff_format(data, BIG) == ("HEIF", "image/heic", 30, 60)
    decoded = decode(data, BIG)
    assert (decoded.width, decoded.height) == (30, 60) and decoded.working.size == (30, 60)
    assert _close(decoded.working.getpixel((15, 10)), RED) and _close(decoded.working.getpixel((15, 50)), BLUE)


def test_a_multi_image_heic_is_decoded_at_its_primary_image():
    # The primary image is what viewers show, and it need not be the first: the header
    # (sniff_format) already reports the primary's size, and the pixels must match it.
    data = images.heic([_rgb(RED, (64, 48)), _rgb(BLUE, (32, 24))], primary=1)
    assert sniff_format(data, BIG)[2:] == (32, 24)
    decoded = decode(data, BIG)
    assert (decoded.width, decoded.height, decoded.frames) == (32, 24, 2)
    assert _close(decoded.working.getpixel((5, 5)), BLUE)


def test_an_embedded_thumbnail_is_not_decoded_instead_of_the_image():
    image = _rgb(RED, (800, 600))
    image.paste(BLUE, (400, 0, 800, 600))
    heif = io.BytesIO()
    pillow_heif.from_pillow(image).save(heif, quality=90, thumbnails=[160])
    assert pillow_heif.open_heif(io.BytesIO(heif.getvalue())).info["thumbnails"]  # the set-up holds one
    decoded = decode(heif.getvalue(), BIG)
    assert (decoded.width, decoded.height) == (800, 600)
    assert min(decoded.working.size) >= WORKING_MIN_SIDE
    right = decoded.working.getpixel((decoded.working.width - 5, 5))
    assert _close(decoded.working.getpixel((5, 5)), RED) and _close(right, BLUE)


def test_pillow_heif_beside_pi_heif_leaves_the_app_its_decoder_and_decodes_the_same_pixels():
    """Both installed, both loaded in one process (as in this test run): each package
    keeps its own libheif, encoding with pillow-heif does not take over Pillow's HEIF
    opener, and pi-heif's pixels equal pillow-heif's own decode of the same file."""
    _pil()  # the app's set-up: registers pi-heif's opener
    photo = Image.open(PHOTO).convert("RGB")
    data = images.heic([photo])
    with Image.open(io.BytesIO(data)) as opened:
        assert type(opened).__module__.startswith("pi_heif."), type(opened)
        ours = opened.convert("RGB")
    theirs = pillow_heif.open_heif(io.BytesIO(data)).to_pillow().convert("RGB")
    assert ours.size == theirs.size == photo.size
    assert max(hi for _, hi in ImageChops.difference(ours, theirs).getextrema()) <= 1
    assert "HEIF" not in Image.SAVE  # pi-heif registers no encoder: the app cannot write HEIC


def test_pi_heif_and_pillow_heif_install_side_by_side():
    """No installed file in common (modules pi_heif/_pi_heif and pillow_heif/_pillow_heif,
    each wheel's libheif and libde265 under its own .libs folder, renamed by auditwheel),
    so installing or removing one cannot break the other."""
    files = {name: {str(f) for f in metadata.distribution(name).files or ()} for name in ("pi-heif", "pillow-heif")}
    assert files["pi-heif"] and files["pillow-heif"]
    assert {f for f in files["pi-heif"] & files["pillow-heif"] if not f.startswith("..")} == set()
    pin = f"pi-heif=={metadata.version('pi-heif')}"
    assert pin in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()  # the pinned one is installed
