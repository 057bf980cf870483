"""Photos villagers send: decoded, turned upright, shrunk and re-encoded as a plain JPEG.

Only the pixels survive: EXIF (with its GPS position, the phone's make and the time),
XMP, ICC profiles and comments are not written again. Anything that is not a readable
image of a kind we take, or that would decode into too many pixels, is refused with a
sentence a villager can act on.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

from village_brain.reports.records import NewPhoto

TAKEN_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF"})
JPEG_QUALITY = 82
# What a photo's transparency becomes in a JPEG.
BACKGROUND = (255, 255, 255)


class PhotoRefused(ValueError):
    """A photo not kept; the message says why, for the villager. `reason` is a short code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def clean_photo(data: bytes, max_bytes: int, max_pixels: int, edge: int) -> NewPhoto:
    """The photo as it is kept, or PhotoRefused."""
    if not data:
        raise PhotoRefused("photo_empty", "the photo is empty")
    if len(data) > max_bytes:
        raise PhotoRefused(
            "photo_too_big",
            f"the photo is {_megabytes(len(data))}; at most {_megabytes(max_bytes)} is taken",
        )
    with warnings.catch_warnings():
        # Pillow's own bomb check warns below its limit; ours refuses at max_pixels instead.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            return _reencode(data, max_pixels, edge)
        except PhotoRefused:
            raise
        except Image.DecompressionBombError:
            raise PhotoRefused("photo_too_many_pixels", _too_many_pixels(max_pixels)) from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
            raise PhotoRefused(
                "photo_unreadable", "the file is not a photo we can read (JPEG, PNG, WebP, GIF)"
            ) from None


def _reencode(data: bytes, max_pixels: int, edge: int) -> NewPhoto:
    with Image.open(io.BytesIO(data)) as image:
        if image.format not in TAKEN_FORMATS:
            raise PhotoRefused(
                "photo_format", f"{image.format or 'this'} files are not taken: send a JPEG or PNG"
            )
        # The header's size is known before a pixel is decoded.
        width, height = image.size
        if width * height > max_pixels:
            raise PhotoRefused("photo_too_many_pixels", _too_many_pixels(max_pixels))
        image.load()
        upright = ImageOps.exif_transpose(image)
        plain = _opaque_rgb(upright)
    plain.thumbnail((edge, edge), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    # A new image, saved without exif, icc_profile or comment: nothing rides along.
    plain.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return NewPhoto(data=out.getvalue(), mime="image/jpeg", width=plain.width, height=plain.height)


def _opaque_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "P", "PA"):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, BACKGROUND)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    converted = image.convert("RGB")
    # A fresh image without the source's info dictionary (where EXIF and XMP ride).
    return Image.frombytes("RGB", converted.size, converted.tobytes())


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def _too_many_pixels(max_pixels: int) -> str:
    millions = max_pixels / 1_000_000
    return f"the photo has more than {millions:.0f} million pixels: send a smaller one"
