"""Real images made with Pillow, for tests."""
from __future__ import annotations

import io

from PIL import Image


def solid(
    colour: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (64, 48), fmt: str = "JPEG", **save
) -> bytes:
    """An image of one colour in ``fmt`` (any Pillow format name, or HEIF)."""
    mode = "RGBA" if fmt in ("PNG", "WEBP") and save.pop("alpha", False) else "RGB"
    image = Image.new(mode, size, colour + ((128,) if mode == "RGBA" else ()))
    if fmt == "HEIF":
        return heic([image], **save)
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


def heic(frames: list[Image.Image], primary: int = 0, orientation: int | None = None, quality: int = 90) -> bytes:
    """A HEIC holding ``frames`` as its top-level images, ``frames[primary]`` the primary one.

    ``orientation``: EXIF orientation of the pictures as stored (6 = shown rotated 90° CW);
    the encoder writes it as the HEIF transformation (irot/imir) that decoders apply.
    Encoded with pillow-heif (dev only: the app's pi-heif has no encoder), through its
    own API, so Pillow's HEIF opener stays the app's.
    """
    import pillow_heif

    heif = pillow_heif.from_pillow(frames[0])
    for frame in frames[1:]:
        heif.add_from_pillow(frame)
    extra = {}
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        extra["exif"] = exif.tobytes()
    out = io.BytesIO()
    heif.save(out, quality=quality, primary_index=primary, **extra)
    return out.getvalue()


def halves(left: tuple[int, int, int], right: tuple[int, int, int], size: tuple[int, int] = (80, 40)) -> bytes:
    """A PNG whose left half is ``left`` and right half ``right``."""
    image = Image.new("RGB", size, left)
    image.paste(Image.new("RGB", (size[0] // 2, size[1]), right), (size[0] // 2, 0))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def with_orientation(orientation: int, size: tuple[int, int] = (60, 30)) -> bytes:
    """A JPEG stored ``size`` wide/high whose EXIF says to rotate it (6 = 90° CW)."""
    image = Image.new("RGB", size, (10, 120, 200))
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def with_exif(gps: tuple[float, float] | None = (52.5, -13.25), size: tuple[int, int] = (80, 60)) -> bytes:
    """A JPEG with camera EXIF (Canon EOS R5, 2024-05-01 12:30:00) and optional GPS (lat, lon)."""
    from PIL import ExifTags

    image = Image.new("RGB", size, (90, 140, 60))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Canon"
    exif[ExifTags.Base.Model] = "Canon EOS R5"
    details = exif.get_ifd(ExifTags.IFD.Exif)
    details[ExifTags.Base.DateTimeOriginal] = "2024:05:01 12:30:00"
    details[ExifTags.Base.LensModel] = "RF24-105mm F4 L IS USM"
    if gps:
        lat, lon = gps
        info = exif.get_ifd(ExifTags.IFD.GPSInfo)

        def dms(value: float) -> tuple[float, float, float]:
            value = abs(value)
            d = int(value)
            m = int((value - d) * 60)
            return (float(d), float(m), round((value - d - m / 60) * 3600, 4))

        info[ExifTags.GPS.GPSLatitudeRef] = "N" if lat >= 0 else "S"
        info[ExifTags.GPS.GPSLatitude] = dms(lat)
        info[ExifTags.GPS.GPSLongitudeRef] = "E" if lon >= 0 else "W"
        info[ExifTags.GPS.GPSLongitude] = dms(lon)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def animated_gif(frames: int = 3, size: tuple[int, int] = (40, 40)) -> bytes:
    shots = [Image.new("RGB", size, (i * 60 % 256, 100, 200)) for i in range(frames)]
    out = io.BytesIO()
    shots[0].save(out, "GIF", save_all=True, append_images=shots[1:], duration=100, loop=0)
    return out.getvalue()


def photo_like(size: tuple[int, int] = (1200, 900), seed: int = 1, quality: int = 90) -> bytes:
    """A JPEG with photo-like structure (smooth gradients plus noise), deterministic per seed."""
    import numpy as np

    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack(
        [
            128 + 100 * np.sin(x / w * rng.uniform(2, 6) + rng.uniform(0, 3)),
            128 + 100 * np.cos(y / h * rng.uniform(2, 6) + rng.uniform(0, 3)),
            128 + 80 * np.sin((x + y) / (w + h) * rng.uniform(3, 8)),
        ],
        axis=2,
    )
    noisy = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype("uint8")
    out = io.BytesIO()
    Image.fromarray(noisy, "RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def reencoded(data: bytes, scale: float = 0.5, quality: int = 70, fmt: str = "JPEG") -> bytes:
    """The same picture resized and recompressed (a near duplicate)."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    size = (max(1, int(image.width * scale)), max(1, int(image.height * scale)))
    image = image.resize(size, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, fmt, quality=quality)
    return out.getvalue()
