"""The in-process notice board."""

from village_brain.core.bus import Bus


def test_listeners_receive_what_is_published():
    bus, seen = Bus(), []
    bus.subscribe(lambda kind, payload: seen.append((kind, payload)))
    bus.publish("readings", {"n": 1})
    assert seen == [("readings", {"n": 1})]


def test_an_unsubscribed_listener_hears_nothing_more():
    bus, seen = Bus(), []
    unsubscribe = bus.subscribe(lambda kind, payload: seen.append(kind))
    unsubscribe()
    bus.publish("readings", {})
    assert seen == []


def test_a_failing_listener_does_not_stop_the_others():
    bus, seen = Bus(), []

    def broken(kind, payload):
        raise RuntimeError("boom")

    bus.subscribe(broken)
    bus.subscribe(lambda kind, payload: seen.append(kind))
    bus.publish("alert", {})
    assert seen == ["alert"]


def test_a_bus_says_whether_anyone_wants_a_kind():
    bus = Bus()
    assert not bus.listened("readings")
    unsubscribe = bus.subscribe(lambda kind, payload: None, lambda kind: kind == "alert")
    assert bus.listened("alert") and not bus.listened("readings")
    unsubscribe()
    assert not bus.listened("alert")


def test_a_listener_hears_only_the_kinds_it_wants():
    bus, seen = Bus(), []
    bus.subscribe(lambda kind, payload: seen.append(kind), lambda kind: kind == "alert")
    bus.publish("readings", {})
    bus.publish("alert", {})
    assert seen == ["alert"]
