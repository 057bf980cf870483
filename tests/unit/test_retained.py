"""Which retained messages were refused already: keyed by topic and payload, bounded."""

from village_brain.ingest.pipeline import InboundMessage
from village_brain.ingest.retained import RetainedRefusals, retained_key


def message(topic: str, payload: bytes, received_ms: int = 1000) -> InboundMessage:
    return InboundMessage(topic, payload, received_ms, retain=True)


def test_the_key_is_the_same_for_the_same_topic_and_payload_whenever_it_comes():
    first = message("village/x/g1/telemetry", b"junk", 1000)
    again = message("village/x/g1/telemetry", b"junk", 9000)
    assert retained_key(first) == retained_key(again)


def test_the_key_differs_with_the_topic_or_the_payload():
    keys = {
        retained_key(message("village/x/g1/telemetry", b"junk")),
        retained_key(message("village/x/g2/telemetry", b"junk")),
        retained_key(message("village/x/g1/telemetry", b"junk!")),
        # Where the topic ends and the payload begins is part of the key.
        retained_key(message("village/x/g1/telemetr", b"yjunk")),
    }
    assert len(keys) == 4


def test_only_the_most_recent_keys_are_kept_up_to_the_limit():
    refusals = RetainedRefusals(limit=2)
    refusals.remember(["a", "b", "c"])
    assert (len(refusals), refusals.is_known("a"), refusals.is_known("c")) == (2, False, True)


def test_a_key_met_again_is_kept_longer_than_one_not_met():
    refusals = RetainedRefusals(limit=2)
    refusals.remember(["a", "b"])
    assert refusals.is_known("a")
    refusals.remember(["c"])
    assert (refusals.is_known("a"), refusals.is_known("b")) == (True, False)


def test_known_keys_come_newest_first_and_the_newest_are_kept():
    refusals = RetainedRefusals(["c", "b", "a"], limit=2)
    assert (refusals.is_known("c"), refusals.is_known("b"), refusals.is_known("a")) == (
        True,
        True,
        False,
    )
