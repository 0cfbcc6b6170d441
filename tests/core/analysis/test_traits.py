import io

from PIL import Image

from tagging.core.analysis import decode
from tagging.core.analysis.traits import TraitsAnalyser
from tests.support import images


def names(contribution):
    return {t.name for t in contribution.tags}


def test_greyscale_photo_is_monochrome_and_colour_photo_is_not():
    grey = Image.open(io.BytesIO(images.photo_like((400, 300)))).convert("L")
    out = io.BytesIO()
    grey.save(out, "JPEG")
    assert "monochrome" in names(TraitsAnalyser().analyse(decode(out.getvalue(), 10**9)))
    colour = TraitsAnalyser().analyse(decode(images.photo_like((400, 300)), 10**9))
    assert "monochrome" not in names(colour) and colour.facts["greyscale"] is False


def test_animation_and_transparency():
    animated = TraitsAnalyser().analyse(decode(images.animated_gif(4), 10**9))
    assert animated.facts["frames"] == 4 and "animated" in names(animated)
    clear = TraitsAnalyser().analyse(decode(images.solid(fmt="PNG", alpha=True), 10**9))
    assert clear.facts["transparent"] is True and "transparent" in names(clear)
    opaque_rgba = Image.new("RGBA", (20, 20), (1, 2, 3, 255))
    out = io.BytesIO()
    opaque_rgba.save(out, "PNG")
    assert "transparent" not in names(TraitsAnalyser().analyse(decode(out.getvalue(), 10**9)))


def test_sharpness_ranks_a_sharp_image_above_its_blurred_copy():
    from PIL import ImageFilter

    sharp = Image.open(io.BytesIO(images.photo_like((600, 400))))
    blurred = sharp.filter(ImageFilter.GaussianBlur(4))
    out = io.BytesIO()
    blurred.save(out, "JPEG", quality=95)
    a = TraitsAnalyser().analyse(decode(images.photo_like((600, 400)), 10**9)).facts["sharpness"]
    b = TraitsAnalyser().analyse(decode(out.getvalue(), 10**9)).facts["sharpness"]
    assert a > 5 * b
