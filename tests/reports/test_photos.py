"""Photos are kept as plain re-encoded JPEGs: no metadata rides along, and what is not a
photo, or is too big to decode safely, is refused in words."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import ExifTags, Image
from report_kit import jpeg

from village_brain.reports.photos import PhotoRefused, clean_photo

MB = 1_000_000


def clean(data: bytes, max_bytes: int = 8 * MB, max_pixels: int = 40 * MB, edge: int = 1600):
    return clean_photo(data, max_bytes, max_pixels, edge)


def with_gps_and_camera() -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "VillagePhone"
    exif[ExifTags.Base.DateTime] = "2026:12:02 09:59:00"
    exif[ExifTags.Base.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (30.0, 16.0, 26.0),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (120.0, 9.0, 5.0),
    }
    return exif


def test_exif_with_gps_and_camera_is_gone_from_the_kept_photo() -> None:
    sent = jpeg(exif=with_gps_and_camera())
    assert b"VillagePhone" in sent and Image.open(io.BytesIO(sent)).getexif()
    kept = clean(sent)
    assert b"VillagePhone" not in kept.data and b"Exif" not in kept.data
    reopened = Image.open(io.BytesIO(kept.data))
    assert dict(reopened.getexif()) == {}
    assert reopened.info.get("icc_profile") is None and "exif" not in reopened.info
    assert (kept.mime, reopened.format) == ("image/jpeg", "JPEG")


def test_a_photo_taken_sideways_is_kept_upright() -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # the camera was turned: show it turned 90°
    kept = clean(jpeg((64, 48), exif))
    assert (kept.width, kept.height) == (48, 64)


def test_a_large_photo_is_shrunk_to_the_longest_edge() -> None:
    kept = clean(jpeg((2000, 1000)), edge=800)
    assert (kept.width, kept.height) == (800, 400)


def test_a_png_with_transparency_becomes_an_opaque_jpeg() -> None:
    out = io.BytesIO()
    Image.new("RGBA", (10, 10), (0, 0, 0, 0)).save(out, "PNG")
    kept = clean(out.getvalue())
    assert Image.open(io.BytesIO(kept.data)).getpixel((5, 5)) == (255, 255, 255)


@pytest.mark.parametrize(
    "data", [b"", b"not an image at all", b"\xff\xd8\xff\xe0" + b"\x00" * 40, b"<svg/>"]
)
def test_what_is_not_a_readable_photo_is_refused(data: bytes) -> None:
    with pytest.raises(PhotoRefused) as refused:
        clean(data)
    assert refused.value.reason in ("photo_empty", "photo_unreadable")


def test_a_truncated_jpeg_is_refused() -> None:
    whole = jpeg((400, 300))
    with pytest.raises(PhotoRefused, match="not a photo we can read"):
        clean(whole[: len(whole) // 2])


def test_a_kind_of_image_not_taken_is_refused_by_name() -> None:
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, "TIFF")
    with pytest.raises(PhotoRefused, match="TIFF files are not taken"):
        clean(out.getvalue())


def test_a_file_over_the_byte_limit_is_refused_before_decoding() -> None:
    with pytest.raises(PhotoRefused, match=r"at most 0\.1 MB") as refused:
        clean(jpeg((1200, 1200)) + b"\x00" * 200_000, max_bytes=100_000)
    assert refused.value.reason == "photo_too_big"


def png_of_zeros(side: int) -> bytes:
    """A valid black-and-white PNG, side × side, written directly: Pillow takes seconds to
    encode one this big, zlib a fraction of one."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1 bit, grey
    rows = (b"\0" * (1 + side // 8)) * side  # each row: filter byte 0, then its pixels
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def test_a_decompression_bomb_is_refused_from_its_header() -> None:
    # A few kilobytes of PNG that would decode into 400 million pixels.
    bomb = png_of_zeros(20_000)
    assert len(bomb) < 200_000
    with pytest.raises(PhotoRefused, match="more than 40 million pixels") as refused:
        clean(bomb)
    assert refused.value.reason == "photo_too_many_pixels"
