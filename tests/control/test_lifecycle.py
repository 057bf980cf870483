"""A command's lifecycle: queued → sent → accepted → done / failed / expired / timed out."""

import pytest
from control_kit import OPERATOR, T0, Clock, Wire, answer, make_stage

from village_brain.control.downlinks import Downlinks
from village_brain.control.records import CommandRequest, Refused
from village_brain.control.store import CommandStore
from village_brain.core.catalog import default_catalog
from village_brain.core.devices import Device
from village_brain.ingest.sources.router import build_sources


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def wire():
    return Wire()


@pytest.fixture
def stage(tmp_path, clock, wire):
    stage = make_stage(tmp_path, clock, wire)
    yield stage
    stage.store.close()


def lamp_on(command_id=None, **kw):
    return CommandRequest(device="lamp-1", target="lamp_state", value="on", id=command_id, **kw)


def states(command):
    return [(s.state, s.at_ms) for s in command.steps]


def test_a_command_is_queued_then_sent_with_each_step_timestamped(stage, clock, wire):
    command, new = stage.send(lamp_on(), OPERATOR)
    assert new and command.state == "queued"
    clock.ms += 5
    stage.sweep()
    sent = stage.get(command.id)
    assert sent.state == "sent"
    assert states(sent) == [("queued", T0), ("sent", T0 + 5)]
    assert wire.sent[0].topic == "village/xiashan/lamp-1/command"


def test_accepted_then_done_records_the_new_state(stage, clock):
    command, _ = stage.send(lamp_on(), OPERATOR)
    stage.sweep()
    stage.on_results([answer(command.id, "accepted", T0 + 10)])
    stage.on_results([answer(command.id, "done", T0 + 20, state={"lamp_state": "on"})])
    done = stage.get(command.id)
    assert done.state == "done" and done.new_state == {"lamp_state": "on"}
    assert [s.state for s in done.steps] == ["queued", "sent", "accepted", "done"]


def test_failed_keeps_the_devices_reason(stage):
    command, _ = stage.send(lamp_on(), OPERATOR)
    stage.sweep()
    stage.on_results([answer(command.id, "failed", T0 + 10, reason="relay stuck")])
    assert (stage.get(command.id).state, stage.get(command.id).detail) == ("failed", "relay stuck")


def test_a_repeated_or_late_answer_changes_nothing(stage):
    command, _ = stage.send(lamp_on(), OPERATOR)
    stage.sweep()
    stage.on_results([answer(command.id, "done", T0 + 10)])
    stage.on_results([answer(command.id, "done", T0 + 11), answer(command.id, "accepted", T0 + 12)])
    stage.on_results([answer(command.id, "failed", T0 + 13, reason="late")])
    command = stage.get(command.id)
    assert command.state == "done" and [s.state for s in command.steps].count("done") == 1


def test_an_answer_from_another_device_is_ignored(stage):
    command, _ = stage.send(lamp_on(), OPERATOR)
    stage.sweep()
    stage.on_results([answer(command.id, "done", T0 + 10, device="valve-1")])
    assert stage.get(command.id).state == "sent"


def test_a_command_not_taken_before_its_expiry_expires_and_is_never_sent_after(stage, clock, wire):
    wire.up = False  # the broker connection is down
    command, _ = stage.send(lamp_on(expires_in_ms=10_000), OPERATOR)
    stage.sweep()
    assert stage.get(command.id).state == "queued"
    clock.ms += 10_000
    wire.up = True
    stage.sweep()
    expired = stage.get(command.id)
    assert expired.state == "expired" and not wire.sent


def test_a_sent_command_without_answer_expires_at_its_expiry(stage, clock):
    command, _ = stage.send(lamp_on(expires_in_ms=10_000), OPERATOR)
    stage.sweep()
    clock.ms += 9_999
    stage.sweep()
    assert stage.get(command.id).state == "sent"
    clock.ms += 1
    stage.sweep()
    assert stage.get(command.id).state == "expired"


def test_an_accepted_command_without_done_times_out(stage, clock):
    command, _ = stage.send(lamp_on(), OPERATOR)
    stage.sweep()
    stage.on_results([answer(command.id, "accepted", T0)])
    clock.ms += 30_000
    stage.sweep()
    assert stage.get(command.id).state == "timed_out"


def test_the_same_id_sent_twice_is_one_command_sent_once(stage, wire):
    first, new_first = stage.send(lamp_on("c-repeat"), OPERATOR)
    stage.sweep()
    second, new_second = stage.send(lamp_on("c-repeat"), OPERATOR)
    stage.sweep()
    assert (new_first, new_second) == (True, False)
    assert second.id == first.id and len(wire.sent) == 1


def test_an_id_taken_by_another_command_is_refused(stage):
    stage.send(lamp_on("c-taken"), OPERATOR)
    off = CommandRequest(device="lamp-1", target="lamp_state", value="off", id="c-taken")
    with pytest.raises(Refused) as refused:
        stage.send(off, OPERATOR)
    assert refused.value.status == 409


def test_a_device_coming_back_is_sent_its_open_commands_again(stage, wire):
    from village_brain.store.registry import BatchRecord

    command, _ = stage.send(lamp_on(), OPERATOR)
    stage.sweep()
    stage.on_batch([], BatchRecord(statuses={"lamp-1": ("online", T0 + 100)}))
    stage.sweep()
    assert [c.correlation for c in wire.sent] == [command.id.encode()] * 2


def test_a_restart_sends_again_what_was_sent_and_not_answered(tmp_path, clock, wire):
    stage = make_stage(tmp_path, clock, wire)
    command, _ = stage.send(lamp_on(), OPERATOR)
    stage.sweep()
    stage.store.close()
    again = make_stage(tmp_path, clock, wire)
    again._resend_all = True  # what start() does
    again.sweep()
    assert again.get(command.id).state == "sent"
    assert len(wire.sent) == 2
    again.store.close()


def test_a_reading_that_shows_the_commanded_state_closes_the_loop(stage, clock):
    from village_brain.core.records import Reading
    from village_brain.store.registry import BatchRecord

    command, _ = stage.send(lamp_on(), OPERATOR)
    stage.sweep()
    stage.on_batch([Reading("xiashan", "lamp-1", "lamp_state", T0 - 1, 1.0)], BatchRecord())
    assert stage.get(command.id).state == "sent"  # a reading from before the command
    stage.on_batch([Reading("xiashan", "lamp-1", "lamp_state", T0 + 1, 1.0)], BatchRecord())
    assert stage.get(command.id).state == "done"


def test_who_where_and_why_are_kept_with_the_command(tmp_path, stage):
    command, _ = stage.send(lamp_on(), OPERATOR)
    reopened = CommandStore(tmp_path / "control.sqlite3").get(command.id)
    assert reopened.origin == OPERATOR


@pytest.mark.parametrize(
    ("target", "value", "words"),
    [
        ("lamp_state", "dim", "expects true/false"),
        ("illuminance", 3, "cannot be commanded"),
        ("valve_position", 40, "has no valve_position"),
        ("lamp_state", None, "needs a value"),
        ("warp_drive", 1, "neither a sensor type nor an action"),
        ("reboot", 1, "takes no value"),
    ],
)
def test_a_command_is_checked_like_a_reading(stage, target, value, words):
    with pytest.raises(Refused, match=words):
        stage.send(CommandRequest(device="lamp-1", target=target, value=value), OPERATOR)


def test_a_command_to_an_unknown_device_is_refused_as_not_found(stage):
    with pytest.raises(Refused) as refused:
        stage.send(CommandRequest(device="nobody", target="lamp_state", value="on"), OPERATOR)
    assert refused.value.status == 404


def test_sending_again_waits_for_the_broker_connection(tmp_path, clock, wire):
    stage = make_stage(tmp_path, clock, wire)
    command, _ = stage.send(lamp_on(), OPERATOR)
    stage.sweep()
    stage.store.close()
    again = make_stage(tmp_path, clock, wire)
    again._resend_all = True
    wire.up = False  # just restarted: not connected yet
    again.sweep()
    wire.up = True
    again.sweep()
    again.sweep()
    assert [c.correlation for c in wire.sent] == [command.id.encode()] * 2
    again.store.close()


def test_a_command_its_family_cannot_address_yet_waits_quietly_and_its_expiry_says_why(
    tmp_path, clock, wire, caplog
):
    # A ChirpStack device before its first uplink: no application to address the downlink to.
    options = {"adapter": "chirpstack", "village": "xiashan"}
    options["downlinks"] = {"*": {"f_port": 10, "payloads": {"lamp_state": {"on": "0101"}}}}
    lamp = Device("lamp-1", "xiashan", sensors=("lamp_state",), foreign_id="a84041000181af4f")
    stage = make_stage(tmp_path, clock, wire)
    stage.find_device = {"lamp-1": lamp}.get
    stage.downlinks = Downlinks.of(build_sources([options], default_catalog()), default_catalog())
    command, _ = stage.send(lamp_on(expires_in_ms=10_000), OPERATOR)
    for _ in range(3):
        stage.sweep()
        clock.ms += 1_000
    said = [r for r in caplog.records if command.id in r.getMessage()]
    assert len(said) == 1 and said[0].exc_info is None
    assert stage.get(command.id).state == "queued" and not wire.sent
    clock.ms += 10_000
    stage.sweep()
    expired = stage.get(command.id)
    assert expired.state == "expired" and "named its application" in expired.detail
    stage.store.close()
