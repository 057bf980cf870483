"""What the reports tests share: their start time, and photos made on the spot."""

from __future__ import annotations

import io

from PIL import Image

# 2026-12-02 10:00 in Asia/Shanghai.
START_MS = 1_796_176_800_000


def jpeg(size: tuple[int, int] = (64, 48), exif: Image.Exif | None = None) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "JPEG", exif=exif or Image.Exif())
    return out.getvalue()
