"""The v2 write path (gzip, /api/v2/write) against a real VictoriaMetrics.

VictoriaMetrics takes InfluxDB line protocol on /api/v2/write and names each series
`{measurement}_{field}`, so the points come back through its export API as `reading_value`
(with no `db` label: other tests here write through /write?db=, which sets one).
"""

from __future__ import annotations

from village_brain.core.records import Reading
from village_brain.core.timefmt import now_ms

from support.waiting import wait_until


def test_points_written_through_the_v2_api_arrive_with_their_tags_values_and_times(
    victoria_server, open_influx
):
    store = open_influx(url=victoria_server.url, write_api="v2", bucket="village", org="any")
    now = now_ms()
    sent = [
        Reading("xiashan", "g1", "water_level", now - 2000, 1.25),
        Reading("xiashan", "g1", "water_level", now - 1000, 1.5),
        Reading("xiashan", "g2", "rainfall", now - 1000, 0.2),
    ]

    assert store.write(sent) == 3

    def arrived() -> dict[tuple[str, str, str], list[tuple[int, float]]]:
        return {
            (s["metric"]["village"], s["metric"]["device"], s["metric"]["sensor"]): list(
                zip(s["timestamps"], s["values"], strict=True)
            )
            for s in victoria_server.export('{__name__="reading_value", db=""}')
        }

    wait_until(lambda: sum(map(len, arrived().values())) >= 3, what="three points to arrive")
    assert arrived() == {
        ("xiashan", "g1", "water_level"): [(now - 2000, 1.25), (now - 1000, 1.5)],
        ("xiashan", "g2", "rainfall"): [(now - 1000, 0.2)],
    }
    assert len(store.spool) == 0
