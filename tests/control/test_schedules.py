"""Street lamps on at dusk and off at dawn, from the village's position and the date."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import msgspec
import pytest
from astral import Observer
from astral.sun import dawn, dusk
from control_kit import Clock, Wire, make_stage

from village_brain.control.schedules import Moment, Schedule, Schedules
from village_brain.core.catalog import default_catalog
from village_brain.core.config import ConfigError, ScheduleSettings
from village_brain.core.devices import Device
from village_brain.store.registry import BatchRecord, RegistryStore

ZONE = ZoneInfo("Asia/Shanghai")
XIASHAN = {"latitude": 30.6112, "longitude": 119.6021}


def schedule(**kw):
    settings = ScheduleSettings(name="lamps", village="xiashan", **{**XIASHAN, **kw})
    return Schedule(settings, default_catalog())


def ms(dt):
    return round(dt.timestamp() * 1000)


def local(*args):
    return ms(datetime(*args, tzinfo=ZONE))


def test_dusk_and_dawn_are_the_astronomy_librarys_for_the_village_and_date():
    observer = Observer(**XIASHAN)
    day = date(2026, 12, 2)
    at_night = local(2026, 12, 2, 23, 0)
    window = schedule().window_at("lamp-1", at_night)
    assert window.value == "on"
    assert window.start_ms == ms(dusk(observer, date=day, tzinfo=ZONE))
    assert window.end_ms == ms(dawn(observer, date=date(2026, 12, 3), tzinfo=ZONE))


def test_by_day_the_lamps_are_off_until_dusk():
    window = schedule().window_at("lamp-1", local(2026, 6, 21, 12, 0))
    assert window.value == "off"
    observer = Observer(**XIASHAN)
    assert window.end_ms == ms(dusk(observer, date=date(2026, 6, 21), tzinfo=ZONE))


def test_offsets_move_the_switch():
    plain = schedule().window_at("lamp-1", local(2026, 12, 2, 23, 0))
    later = schedule(on="dusk+15m", off="dawn-10m").window_at("lamp-1", local(2026, 12, 2, 23, 0))
    assert later.start_ms - plain.start_ms == 15 * 60_000
    assert plain.end_ms - later.end_ms == 10 * 60_000


def test_fixed_times_and_a_devices_own_times():
    s = schedule(on="18:30", off="23:00", exceptions={"lamp-late": {"on": "20:00"}})
    assert s.window_at("lamp-1", local(2026, 12, 2, 19, 0)).start_ms == local(2026, 12, 2, 18, 30)
    late = s.window_at("lamp-late", local(2026, 12, 2, 19, 0))
    assert (late.value, late.end_ms) == ("off", local(2026, 12, 2, 20, 0))


def test_a_skipped_device_and_other_kinds_are_left_alone():
    s = schedule(exceptions={"lamp-9": {"skip": "broken pole"}})
    assert not s.covers(Device("lamp-9", "xiashan", kind="street_lamp"))
    assert not s.covers(Device("gauge-1", "xiashan", kind="river_gauge"))
    assert s.covers(Device("lamp-1", "xiashan", kind="street_lamp"))


@pytest.mark.parametrize("bad", ["twilight", "25:00", "dusk+soon"])
def test_a_time_it_cannot_read_is_a_configuration_error(bad):
    with pytest.raises(ConfigError, match=r"control\.schedules 'lamps'"):
        Moment.parse(bad, "control.schedules 'lamps'")


def test_a_target_that_is_no_switch_is_a_configuration_error():
    with pytest.raises(ConfigError, match="no on/off control"):
        schedule(target="valve_position")


@pytest.fixture
def switching(tmp_path):
    registry = RegistryStore(tmp_path / "registry.sqlite3")
    registry.upsert_devices([Device("lamp-1", "xiashan", kind="street_lamp")])
    clock, wire = Clock(), Wire()
    stage = make_stage(tmp_path, clock, wire)
    stage.find_device = lambda d: (row := registry.device(d)) and row.device
    stage.timing = msgspec.structs.replace(stage.timing, max_expiry_ms=86_400_000)
    settings = [ScheduleSettings(name="lamps", village="xiashan", **XIASHAN)]
    schedules = Schedules.from_settings(settings, stage, registry)
    yield clock, wire, stage, schedules
    stage.store.close()
    registry.close()


def test_a_switch_is_sent_once_and_expires_when_the_next_is_due(switching):
    clock, wire, stage, schedules = switching
    clock.ms = local(2026, 12, 2, 23, 0)
    for _ in range(3):
        schedules._next_ms = 0  # looked at again and again
        schedules.tick(clock.ms)
        stage.sweep()
    [command] = stage.for_device("lamp-1")
    assert (command.value, command.origin.by) == ("on", "schedule:lamps")
    observer = Observer(**XIASHAN)
    assert command.expires_ms == ms(dawn(observer, date=date(2026, 12, 3), tzinfo=ZONE))
    assert len(wire.sent) == 1


def test_a_missed_switch_is_sent_again_when_the_lamp_returns_within_the_window(switching):
    clock, wire, stage, schedules = switching
    clock.ms = local(2026, 12, 2, 23, 0)
    schedules.tick(clock.ms)
    stage.sweep()
    clock.ms = local(2026, 12, 3, 2, 0)  # back in the middle of the night
    stage.on_batch([], BatchRecord(statuses={"lamp-1": ("online", clock.ms)}))
    stage.sweep()
    assert len(wire.sent) == 2
    clock.ms = local(2026, 12, 3, 9, 0)  # after dawn: the on switch has expired
    stage.sweep()
    states = {c.value: c.state for c in stage.for_device("lamp-1")}
    assert states == {"on": "expired"}


def test_schedule_changes_are_kept(switching, tmp_path):
    _, _, stage, _ = switching
    changed = ScheduleSettings(name="lamps", village="xiashan", on="dusk+5m", **XIASHAN)
    assert stage.store.note_schedule("lamps", changed.model_dump_json())
    assert not stage.store.note_schedule("lamps", changed.model_dump_json())
    assert len(stage.store.schedule_versions("lamps")) == 2
