"""Online or offline: from status messages and from silence. Healthy or refused: from what
was stored and refused."""

from village_brain.core.catalog import default_catalog
from village_brain.core.devices import Presence
from village_brain.core.presence import (
    DEFAULT_INTERVAL_MS,
    health,
    is_online,
    silence_limit_ms,
)

MIN = 60_000
NOW = 100 * MIN


def test_silence_limit_follows_the_most_frequent_sensor():
    # water_level reports every 5 min, battery_voltage every hour.
    assert silence_limit_ms(default_catalog(), ["battery_voltage", "water_level"], 3) == 15 * MIN


def test_silence_limit_without_known_sensors_uses_the_default_interval():
    assert silence_limit_ms(default_catalog(), [], 2) == 2 * DEFAULT_INTERVAL_MS


def test_a_device_heard_recently_is_online():
    assert is_online(Presence(last_seen_ms=NOW - MIN), NOW, 15 * MIN)


def test_a_device_silent_beyond_the_limit_is_offline():
    assert not is_online(Presence(last_seen_ms=NOW - 16 * MIN), NOW, 15 * MIN)


def test_an_offline_status_after_the_last_reading_means_offline():
    presence = Presence(last_seen_ms=NOW - 2 * MIN, status="offline", status_ms=NOW - MIN)
    assert not is_online(presence, NOW, 15 * MIN)


def test_a_reading_after_an_offline_status_means_online_again():
    presence = Presence(last_seen_ms=NOW - MIN, status="offline", status_ms=NOW - 2 * MIN)
    assert is_online(presence, NOW, 15 * MIN)


def test_an_online_status_alone_counts_as_a_sign_of_life():
    assert is_online(Presence(status="online", status_ms=NOW - MIN), NOW, 15 * MIN)


def test_a_device_never_heard_from_is_offline():
    assert not is_online(Presence(), NOW, 15 * MIN)


LIMIT = 15 * MIN


def test_a_device_whose_messages_since_its_last_stored_one_were_refused_is_refused():
    presence = Presence(
        last_seen_ms=NOW - MIN, last_stored_ms=NOW - 9 * MIN, last_refused_ms=NOW - MIN
    )
    assert health(presence, NOW, LIMIT) == "refused"


def test_a_device_of_which_nothing_was_ever_stored_is_refused():
    presence = Presence(last_seen_ms=NOW - MIN, last_refused_ms=NOW - MIN)
    assert health(presence, NOW, LIMIT) == "refused"


def test_a_device_that_reports_only_refused_events_is_refused_and_not_offline():
    assert health(Presence(last_refused_ms=NOW - MIN), NOW, LIMIT) == "refused"


def test_a_message_partly_stored_and_partly_refused_leaves_the_device_ok():
    presence = Presence(last_seen_ms=NOW - MIN, last_stored_ms=NOW - MIN, last_refused_ms=NOW - MIN)
    assert health(presence, NOW, LIMIT) == "ok"


def test_a_message_stored_after_a_refused_one_makes_the_device_ok_again():
    presence = Presence(
        last_seen_ms=NOW - MIN, last_stored_ms=NOW - MIN, last_refused_ms=NOW - 2 * MIN
    )
    assert health(presence, NOW, LIMIT) == "ok"


def test_a_refusal_older_than_the_silence_limit_means_offline():
    presence = Presence(last_seen_ms=NOW - 16 * MIN, last_refused_ms=NOW - 16 * MIN)
    assert health(presence, NOW, LIMIT) == "offline"


def test_an_offline_status_after_the_last_refusal_means_offline():
    presence = Presence(
        last_seen_ms=NOW - 2 * MIN,
        status="offline",
        status_ms=NOW - MIN,
        last_refused_ms=NOW - 2 * MIN,
    )
    assert health(presence, NOW, LIMIT) == "offline"


def test_a_device_never_heard_from_has_unknown_health():
    assert health(Presence(), NOW, LIMIT) == "unknown"


def test_a_device_heard_recently_with_nothing_refused_is_ok():
    assert health(Presence(last_seen_ms=NOW - MIN, last_stored_ms=NOW - MIN), NOW, LIMIT) == "ok"
