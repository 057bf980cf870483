"""[reports] settings from a TOML file: categories replace the defaults; mistakes are named."""

from __future__ import annotations

import pytest

from village_brain.core.config import ConfigError, load_settings
from village_brain.reports.intake import open_desk

CATEGORIES = """
[[reports.categories]]
code = "bikes"
name_zh = "单车乱停"
name_en = "Bikes blocking the way"
due_hours = 12
department = "城管"

[[reports.categories.questions]]
code = "exit"
datatype = "string"
required = true
description_zh = "哪个出口？"
"""


def test_categories_from_the_file_replace_the_defaults(tmp_path) -> None:
    path = tmp_path / "vb.toml"
    path.write_text(CATEGORIES, "utf-8")
    reports = load_settings(path).reports
    assert [c.code for c in reports.categories] == ["bikes"]
    assert reports.category("bikes").questions[0].required
    assert reports.window_ms("address") == 3_600_000


def test_a_category_code_given_twice_is_named(tmp_path) -> None:
    path = tmp_path / "vb.toml"
    path.write_text(CATEGORIES + CATEGORIES.split("[[reports.categories.questions]]")[0], "utf-8")
    with pytest.raises(ConfigError, match="bikes given twice"):
        load_settings(path)


def test_a_window_that_is_no_duration_is_refused(tmp_path) -> None:
    path = tmp_path / "vb.toml"
    path.write_text('[reports]\nphone_window = "daily"\n', "utf-8")
    with pytest.raises(ConfigError, match=r"reports\.phone_window"):
        load_settings(path)


def test_the_service_opens_reports_sqlite3_in_the_data_directory(tmp_path) -> None:
    settings = load_settings(store={"data_dir": str(tmp_path)}, dashboard={"time_zone": "UTC"})
    desk = open_desk(settings)
    assert desk is not None and (tmp_path / "reports.sqlite3").exists()
    assert desk.store.due_hours["safety"] == 4 and str(desk.store.zone) == "UTC"
    desk.store.close()


def test_with_reports_disabled_no_desk_is_opened(tmp_path) -> None:
    settings = load_settings(store={"data_dir": str(tmp_path)}, reports={"enabled": False})
    assert open_desk(settings) is None
    assert not (tmp_path / "reports.sqlite3").exists()
