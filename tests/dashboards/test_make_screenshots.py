"""The script that makes docs/screenshots runs, imported the way CI imports it, into a
temporary directory: the documentation's pictures can always be made again."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.soak]

SCRIPT = Path(__file__).with_name("make_screenshots.py")
PNG = b"\x89PNG\r\n\x1a\n"


def test_make_screenshots_writes_every_picture_into_the_directory_given(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_screenshots_under_test", SCRIPT)
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    # --any-font: checking that it runs needs no 100 MB font package.
    written = script.main(["--out", str(tmp_path), "--devices", "8", "--hours", "2", "--any-font"])
    names = [p.name for p in written]
    assert names == [
        "alert-history.png",
        "alerts.png",
        "device-lamp.png",
        "device-phone.png",
        "device.png",
        "login-phone.png",
        "manage-channels.png",
        "manage-devices-phone.png",
        "manage-devices.png",
        "manage-rules.png",
        "manage-users.png",
        "overview-phone.png",
        "overview.png",
        "report-phone.png",
        "report-status-phone.png",
        "setup-phone.png",
        "work-phone.png",
        "work.png",
    ]
    for picture in written:
        assert picture.read_bytes()[:8] == PNG
        assert picture.stat().st_size > 8_000, picture.name
