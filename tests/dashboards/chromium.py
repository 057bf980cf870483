"""Debian's Chromium for the browser tests, installed on first use; never a downloaded build."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
_INSTALL = ["apt-get", "install", "-y", "chromium"]


class ChromiumUnavailable(RuntimeError):
    """Chromium is missing and could not be installed here."""


def ensure_chromium() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise ChromiumUnavailable(
            "the dashboard tests need Chromium at /usr/bin/chromium: "
            "sudo apt-get install -y chromium"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(_INSTALL, env=env, check=False).returncode != 0:
        # A fresh image often has no package lists yet.
        subprocess.run(["apt-get", "update"], env=env, check=True)
        subprocess.run(_INSTALL, env=env, check=True)
    if not CHROMIUM.exists():
        raise ChromiumUnavailable("apt-get installed chromium but /usr/bin/chromium is missing")
    return CHROMIUM


_CJK_FONTS = ["apt-get", "install", "-y", "fonts-noto-cjk"]


def ensure_cjk_fonts() -> None:
    """Chinese glyphs for pictures meant for people (docs/screenshots): without a CJK font
    Chromium draws every Chinese character as an empty box. Tests that read the text need none."""
    found = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, check=False)
    if found.stdout.strip():
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise ChromiumUnavailable(
            "screenshots need a Chinese font: sudo apt-get install -y fonts-noto-cjk"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(_CJK_FONTS, env=env, check=False).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, check=True)
        subprocess.run(_CJK_FONTS, env=env, check=True)


def launched_browser() -> Iterator[Browser]:
    """Debian's Chromium under Playwright, for a module's `browser` fixture to yield from;
    the test fails, with what to install, when there is none."""
    try:
        executable = ensure_chromium()
    except ChromiumUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(executable), args=LAUNCH_ARGS)
        yield chromium
        chromium.close()
