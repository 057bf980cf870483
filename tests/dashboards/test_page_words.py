"""Every text a page template marks for translation has words in both languages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from village_brain.dashboards.web.mount import STATIC_DIR

TEMPLATES = Path(STATIC_DIR).parent / "templates"
WORD_FILES = (
    "i18n.js",
    "words_manage.js",
    "words_more.js",
    "words_report.js",
    "words_work.js",
    "words_hotspots.js",
)


def words(language: str) -> set[str]:
    """The keys of one language's block in each words file."""
    keys: set[str] = set()
    for name in WORD_FILES:
        script = (Path(STATIC_DIR) / "js" / name).read_text("utf-8")
        block = re.search(rf"\n  {language}: \{{(.*?)\n  \}},", script, re.S)
        assert block is not None, f"{name} has no {language} block"
        keys |= set(re.findall(r'^\s+"?([\w.]+)"?:', block.group(1), re.M))
    return keys


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_marked_text_of_the_templates_has_words(language: str) -> None:
    marked = {
        key
        for page in TEMPLATES.glob("*.html")
        for key in re.findall(r'data-i18n(?:-aria)?="([\w.]+)"', page.read_text("utf-8"))
    }
    assert marked - words(language) == set()
