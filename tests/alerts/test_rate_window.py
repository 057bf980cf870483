"""A channel's rate window: how many messages it may still take, and when it frees up."""

from __future__ import annotations

from village_brain.alerts.dispatcher import RateWindow

MIN = 60_000


def test_a_window_allows_its_limit_a_minute_and_frees_a_minute_after_the_oldest():
    window = RateWindow(20, [])
    for n in range(20):
        assert window.left(n * 100) == 20 - n
        window.note(n * 100)
    assert window.left(2_000) == 0
    assert window.free_at(2_000) == MIN  # the first message's minute is over
    assert window.left(MIN + 1) == 1


def test_a_window_remembers_the_messages_sent_before_a_restart():
    assert RateWindow(20, list(range(0, 20_000, 1_000))).left(30_000) == 0


def test_a_gap_between_messages_holds_the_next_one_back():
    feishu = RateWindow(100, [], min_gap_ms=200)
    feishu.note(1_000)
    assert feishu.left(1_100) == 0
    assert feishu.free_at(1_100) == 1_200
    assert feishu.left(1_200) == 99


def test_a_channel_without_a_limit_is_never_held():
    assert RateWindow(0, []).left(0) is None
