"""On-call @-mentions per channel and severity, in each robot's documented format, checked on
what real receivers get."""

from __future__ import annotations

import pytest
from notify_support import channel, open_engine, read, text_of
from receivers import receiving

from village_brain.alerts.records import Mention

from support.waiting import wait_until

pytestmark = pytest.mark.integration
OK = (200, {"errcode": 0, "errmsg": "ok"})
ON_CALL = (
    Mention(severities=("critical",), mobiles=("13800001111",), user_ids=("li_shuji",)),
    Mention(severities=("major",), mobiles=("13900002222",)),
)


@pytest.fixture
def engine(tmp_path):
    opened = open_engine(tmp_path)
    yield opened
    opened.stop()


def first_post(engine, kind: str, mentions=ON_CALL, value: float = 3.5):
    """The robot's message of the danger line (3.5) or of the warning line alone."""
    rule = "河道水位超危险线" if value > 3.2 else "河道水位超警戒线"
    with receiving(lambda _n: OK) as robot:
        channel(engine, robot, kind, mentions=mentions)
        engine.start()
        read(engine, "gauge-1", "water_level", value)
        return wait_until(
            lambda: [r for r in robot.received if rule in text_of(r)], what="the robot message"
        )[0]


def test_dingtalk_mentions_the_on_call_mobiles_in_at_and_in_the_text(engine):
    message = first_post(engine, "dingtalk").json()
    assert message["at"] == {
        "atMobiles": ["13800001111"],
        "atUserIds": ["li_shuji"],
        "isAtAll": False,
    }
    # DingTalk only rings a number that the text mentions too.
    assert "@13800001111" in message["markdown"]["text"]
    assert "@13900002222" not in message["markdown"]["text"]


def test_dingtalk_can_mention_everyone(engine):
    everyone = (Mention(severities=("critical",), at_all=True),)
    message = first_post(engine, "dingtalk", everyone).json()
    assert message["at"]["isAtAll"] is True
    assert "@所有人" in message["markdown"]["text"]


def test_a_severity_without_mentions_mentions_nobody(engine):
    quiet = (Mention(severities=("critical",), mobiles=("13800001111",)),)
    message = first_post(engine, "dingtalk", quiet, value=2.8).json()  # only the warning
    assert message["at"] == {"atMobiles": [], "atUserIds": [], "isAtAll": False}
    assert "@" not in message["markdown"]["text"]


def test_wecom_mentions_mobiles_with_a_text_message(engine):
    message = first_post(engine, "wecom").json()
    assert message["msgtype"] == "text"
    assert message["text"]["mentioned_mobile_list"] == ["13800001111"]
    assert message["text"]["mentioned_list"] == ["li_shuji"]
    assert "河道水位超危险线" in message["text"]["content"]
    assert len(message["text"]["content"].encode()) <= 2048


def test_wecom_mentions_user_ids_alone_in_markdown(engine):
    by_id = (Mention(user_ids=("li_shuji", "wang")),)
    message = first_post(engine, "wecom", by_id).json()
    assert message["msgtype"] == "markdown"
    assert "<@li_shuji> <@wang>" in message["markdown"]["content"]


def test_feishu_mentions_with_at_tags(engine):
    people = (Mention(user_ids=("ou_123",), at_all=True),)
    message = first_post(engine, "feishu", people).json()
    text = message["content"]["text"]
    assert message["msg_type"] == "text"
    assert '<at user_id="ou_123">ou_123</at>' in text
    assert '<at user_id="all">所有人</at>' in text


def test_mentions_from_the_settings_apply_to_the_channel_they_name(tmp_path):
    mention = {"channel": "村委会群", "severities": ["critical"], "mobiles": ["13700003333"]}
    engine = open_engine(tmp_path, mentions=[mention])
    try:
        with receiving(lambda _n: OK) as robot:
            channel(engine, robot, "dingtalk", name="村委会群")
            engine.start()
            read(engine, "gauge-1", "water_level", 3.5)
            request = wait_until(
                lambda: [r for r in robot.received if "超危险线" in text_of(r)],
                what="the robot message",
            )[0]
    finally:
        engine.stop()
    assert request.json()["at"]["atMobiles"] == ["13700003333"]
    assert "@13700003333" in text_of(request)
