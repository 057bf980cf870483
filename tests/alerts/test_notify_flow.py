"""The notification policy end to end: an engine on real stores sends to real receivers, and
what the receivers get is the specification (grouping, rate limits, inhibition, escalation)."""

from __future__ import annotations

import pytest
from notify_support import channel, keys_posted, open_engine, read, text_of
from receivers import receiving

from support.waiting import wait_until

pytestmark = pytest.mark.integration
OK = (200, {"errcode": 0, "errmsg": "ok"})


@pytest.fixture
def make_engine(tmp_path):
    opened = []

    def make(**notify):
        opened.append(open_engine(tmp_path, **notify))
        return opened[-1]

    yield make
    for engine in opened:
        engine.stop()


def settled(engine) -> bool:
    return all(d.state in ("delivered", "skipped") for d in engine.store.deliveries(limit=100_000))


def test_alerts_of_one_rule_within_the_group_wait_go_out_as_one_message_with_the_count(make_engine):
    engine = make_engine(group_wait="1s")
    with receiving(lambda _n: OK) as robot:
        channel(engine, robot, "dingtalk")
        engine.start()
        for n in range(10, 16):
            read(engine, f"gauge-{n}", "water_level", 2.8)
        wait_until(lambda: settled(engine) and robot.received, what="the grouped message")
    (post,) = robot.received
    assert "共 6 条" in post.json()["markdown"]["title"]
    assert len(keys_posted(robot)) == 6
    assert all(f"gauge-{n} 水位 2.8 m" in text_of(post) for n in range(10, 16))


def test_a_robot_gets_no_more_than_its_rate_limit_and_every_alert_exactly_once(make_engine):
    engine = make_engine(rate_per_minute={"dingtalk": 5})
    with receiving(lambda _n: OK) as robot:
        channel(engine, robot, "dingtalk")
        # Twenty villages: twenty groups, which alone would be twenty messages.
        for n in range(20):
            read(engine, f"gauge-{n}", "water_level", 2.8, village=f"village-{n}")
        engine.start()
        wait_until(lambda: settled(engine), what="every alert to be sent")
    assert len(robot.received) <= 5
    posted = keys_posted(robot)
    assert len(posted) == 20 and set(posted.values()) == {1}


def test_a_danger_alert_keeps_the_warning_of_the_same_sensor_quiet(make_engine):
    engine = make_engine()
    with receiving(lambda _n: OK) as robot:
        channel(engine, robot, "dingtalk")
        read(engine, "gauge-1", "water_level", 3.5)  # both lines at once
        read(engine, "gauge-2", "water_level", 2.8)  # only the warning line, elsewhere
        engine.start()
        wait_until(lambda: settled(engine), what="the deliveries")
    texts = "\n".join(text_of(r) for r in robot.received)
    assert "河道水位超危险线" in texts
    assert texts.count("河道水位超警戒线") == 1 and "gauge-2" in texts
    (skipped,) = engine.store.deliveries(state="skipped")
    assert skipped.last_error is not None and "inhibited" in skipped.last_error


def test_a_resolution_of_an_inhibited_warning_is_not_sent_either(make_engine):
    engine = make_engine()
    with receiving(lambda _n: OK) as robot:
        channel(engine, robot, "dingtalk")
        read(engine, "gauge-1", "water_level", 3.5)
        engine.start()
        wait_until(lambda: settled(engine) and robot.received, what="the danger message")
        read(engine, "gauge-1", "water_level", 2.0)  # both resolve
        wait_until(lambda: settled(engine) and len(robot.received) >= 2, what="the resolution")
    texts = [text_of(r) for r in robot.received]
    assert not any("河道水位超警戒线" in t for t in texts)
    assert sum("已恢复" in r.json()["markdown"]["title"] for r in robot.received) == 1


def test_an_unacknowledged_alert_is_escalated_and_an_acknowledged_one_is_not(make_engine):
    engine = make_engine(
        routes=[
            {
                "severities": ["critical"],
                "channels": ["村委会群"],
                "escalate_after": "1s",
                "escalate_to": ["书记"],
            }
        ]
    )
    with receiving(lambda _n: OK) as group, receiving(lambda _n: OK) as secretary:
        channel(engine, group, "dingtalk", name="村委会群")
        channel(engine, secretary, "dingtalk", name="书记")
        engine.start()
        read(engine, "gauge-1", "water_level", 3.5)
        read(engine, "gauge-2", "water_level", 3.5)
        taken = engine.store.alerts(device="gauge-2")[0]
        engine.acknowledge(taken.id, "wang", "在处理")
        wait_until(lambda: secretary.received, timeout=20, what="the escalation")
        wait_until(lambda: settled(engine), what="every delivery")
    (escalation,) = secretary.received
    assert "升级" in escalation.json()["markdown"]["title"]
    assert "gauge-1" in text_of(escalation) or "石桥水位站" in text_of(escalation)
    assert all("gauge-2" not in text_of(r) for r in secretary.received)
    skipped = engine.store.deliveries(state="skipped")
    assert [d.alert_id for d in skipped] == [taken.id]


def test_routes_send_an_alert_only_to_the_channels_of_its_village(make_engine):
    engine = make_engine(routes=[{"villages": ["xiashan"], "channels": ["下山村"]}])
    with receiving() as xiashan, receiving() as other:
        channel(engine, xiashan, name="下山村")
        channel(engine, other, name="上山村")
        engine.start()
        read(engine, "gauge-1", "water_level", 3.5)
        read(engine, "gauge-9", "water_level", 3.5, village="shangshan")
        wait_until(lambda: settled(engine) and xiashan.received, what="the delivery")
    assert {r.json()["data"]["village"] for r in xiashan.received} == {"xiashan"}
    assert other.received == []
