"""A sensor's history as a CSV file that Excel opens with its Chinese intact."""

from __future__ import annotations

import csv
import io

from fastapi import FastAPI
from fastapi.testclient import TestClient

from village_brain.core.records import Reading
from village_brain.store.registry import RegistryStore
from village_brain.store.sqlite_series import SqliteSeriesStore

START = 1_700_000_000_000


def stored(series: SqliteSeriesStore) -> None:
    series.write(
        [
            Reading(device="g1", village="xiashan", sensor="water_level", ts_ms=START + i * 60_000,
                    value=1.0 + i / 10)
            for i in range(5)
        ]
    )  # fmt: skip


def test_the_series_csv_starts_with_a_bom_and_carries_chinese_text(
    app: FastAPI, stores: tuple[SqliteSeriesStore, RegistryStore]
) -> None:
    stored(stores[0])
    answer = TestClient(app).get(
        "/api/v1/devices/g1/series/water_level/csv",
        params={"start": START, "end": START + 300_000, "step": "1m"},
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    assert answer.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["时间（UTC）", "当地时间（Asia/Shanghai）", "设备"]
    assert len(rows) == 6
    assert rows[1][4] == "北桥河岸" and float(rows[1][-1]) == 1.0


def test_the_csv_header_can_be_in_english(
    app: FastAPI, stores: tuple[SqliteSeriesStore, RegistryStore]
) -> None:
    stored(stores[0])
    answer = TestClient(app).get(
        "/api/v1/devices/g1/series/water_level/csv",
        params={"start": START, "end": START + 300_000, "lang": "en"},
    )
    header = answer.content.decode("utf-8-sig").splitlines()[0]
    assert header.startswith("time (UTC),local time (Asia/Shanghai),device")


def test_an_unknown_device_is_a_404_in_words(app: FastAPI) -> None:
    answer = TestClient(app).get("/api/v1/devices/nope/series/water_level/csv")
    assert answer.status_code == 404 and "no device" in answer.json()["error"]
