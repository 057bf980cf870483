"""Exactly one delivery per transition per channel, with grouping, rate limits, escalation and
a restart in the middle of a burst: real receivers count the posts that carry each row."""

from __future__ import annotations

import pytest
from notify_support import channel, keys_posted, open_engine, read
from receivers import receiving

from support.waiting import wait_until

pytestmark = pytest.mark.integration
OK = (200, {"errcode": 0, "errmsg": "ok"})
ALERTS = 1_200
ROUTES = [
    {"channels": ["web", "村委会群"], "escalate_after": "1s", "escalate_to": ["书记"]},
]


def delivered_keys(engine, hook) -> set[str]:
    """What the channel's posts name: the webhook-id of a standard webhook, the row's
    delivery key for a robot."""
    rows = engine.store.deliveries(webhook_id=hook.id, limit=1_000_000)
    standard = hook.kind == "standard"
    return {r.msg_id if standard else r.delivery_key for r in rows if r.state == "delivered"}


def settled(engine) -> bool:
    rows = engine.store.deliveries(limit=1_000_000)
    return all(d.state in ("delivered", "skipped") for d in rows)


@pytest.mark.soak
def test_a_burst_across_a_restart_gives_every_row_one_post_and_no_row_two(tmp_path):
    notify = {"routes": ROUTES, "rate_per_minute": {"dingtalk": 600}}
    with (
        receiving() as web,
        receiving(lambda _n: OK) as group,
        receiving(lambda _n: OK) as secretary,
    ):
        first = open_engine(tmp_path, **notify)
        hooks = [
            channel(first, web, "standard", name="web", severities=("critical",)),
            channel(first, group, "dingtalk", name="村委会群"),
            channel(first, secretary, "dingtalk", name="书记"),
        ]
        first.start()
        for n in range(ALERTS // 2):
            read(first, f"g-{n}", "water_level", 3.5)
        wait_until(lambda: len(web.received) > 50, timeout=60, what="part of the burst")
        first.stop()  # mid-burst: attempts in flight finish, the rest waits in the outbox
        second = open_engine(tmp_path, **notify)
        second.start()
        try:
            for n in range(ALERTS // 2, ALERTS):
                read(second, f"g-{n}", "water_level", 3.5)
            for alert in second.store.alerts(severity="critical", limit=ALERTS)[::2]:
                second.acknowledge(alert.id, "wang", "")
            wait_until(lambda: settled(second), timeout=240, what="every delivery")
            expected = [delivered_keys(second, h) for h in hooks]
        finally:
            second.stop()
    posted = [keys_posted(r) for r in (web, group, secretary)]
    duplicates = [sum(n - 1 for n in counts.values()) for counts in posted]
    print(f"posts per channel: {[len(r.received) for r in (web, group, secretary)]}, "
          f"rows: {[len(e) for e in expected]}, duplicates: {duplicates}")  # fmt: skip
    assert duplicates == [0, 0, 0]
    assert [set(c) for c in posted] == expected
    assert len(expected[0]) >= ALERTS  # every danger firing, and the acknowledgements
    # Merged: at 10 posts a second the group's rows share messages, about 10 rows each on 2
    # cores (fewer when alerts are written down more slowly, so the bound leaves room).
    assert len(group.received) < len(expected[1]) / 5
