"""Online or offline: from status messages and from silence."""

from village_brain.core.catalog import default_catalog
from village_brain.core.devices import Presence
from village_brain.core.presence import DEFAULT_INTERVAL_MS, is_online, silence_limit_ms

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
