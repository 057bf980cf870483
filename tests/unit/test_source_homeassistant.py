"""Home Assistant discovery: configs teach the adapter topics, later states become readings."""

from __future__ import annotations

import json
import math
import re
import tomllib
from pathlib import Path

import pytest

from village_brain.core.catalog import default_catalog
from village_brain.core.records import RawReading
from village_brain.ingest.sources.hatemplate import (
    TemplateValueError,
    UnsupportedTemplate,
    compile_template,
)
from village_brain.ingest.sources.registry import build_adapter

FIXTURES = tomllib.loads(
    (Path(__file__).parents[1] / "fixtures" / "adapters" / "homeassistant.toml").read_text("utf-8")
)["message"]
NOW_MS = 1_795_939_200_000


def _adapter(**options):
    raw = {"adapter": "homeassistant", "village": "xiashan", **options}
    return build_adapter(raw, default_catalog(), "ingest.sources[0]")


def _sample(name: str) -> tuple[str, bytes]:
    message = next(m for m in FIXTURES if m["name"].startswith(name))
    return message["topic"], message["payload"].encode()


def _feed(adapter, *names: str):
    """Every named fixture through one adapter; the last translation."""
    translation = None
    for name in names:
        topic, payload = _sample(name)
        translation = adapter.translate(topic, payload, NOW_MS, None)
    return translation


def _send(adapter, topic: str, payload: bytes | str | dict):
    if isinstance(payload, dict):
        payload = json.dumps(payload)
    if isinstance(payload, str):
        payload = payload.encode()
    return adapter.translate(topic, payload, NOW_MS, None)


def _sensor_config(**fields) -> dict:
    config = {
        "device_class": "temperature",
        "unit_of_measurement": "°C",
        "state_topic": "shed/state",
        "device": {"identifiers": ["shed01"], "name": "Shed"},
    }
    config.update(fields)
    return {k: v for k, v in config.items() if v is not None}


SHED = "homeassistant/sensor/shed/temperature/config"


def test_it_subscribes_to_configs_with_and_without_a_node_id_under_its_prefix():
    assert _adapter(discovery_prefix="ha").subscriptions() == ["ha/+/+/config", "ha/+/+/+/config"]


def test_a_config_asks_for_its_state_and_availability_topics_and_is_otherwise_quiet():
    adapter = _adapter()
    translation = _feed(adapter, "ESPHome: abbreviated temperature")
    assert translation.subscribe == [
        "livingroom/sensor/living_room_temperature/state",
        "livingroom/status",
    ]
    assert translation.quiet and not translation.reports and not translation.problems


def test_two_entities_sharing_a_state_topic_give_one_report_with_both_readings():
    adapter = _adapter()
    [report] = _feed(
        adapter, "HA docs: temperature", "HA docs: humidity", "HA docs: the shared"
    ).reports
    assert (report.device, report.village, report.foreign_id) == (
        "bedroom01ae",
        "xiashan",
        "Bedroom",
    )
    assert report.readings == [
        RawReading("air_temperature", 23.2, "°C", None),
        RawReading("air_humidity", 43.7, "%", None),
    ]


def test_abbreviated_keys_and_a_plain_text_state_are_read():
    adapter = _adapter()
    [report] = _feed(
        adapter, "ESPHome: abbreviated temperature", "ESPHome: temperature state"
    ).reports
    assert (report.device, report.foreign_id) == ("84fce6123456", "livingroom")
    assert report.readings == [RawReading("air_temperature", 21.5, "°C", None)]


def test_the_base_topic_replaces_a_leading_or_trailing_tilde_in_topics():
    adapter = _adapter()
    config = _sensor_config(state_topic=None, **{"~": "shed/climate", "stat_t": "~/state"})
    config["avty_t"] = "status/~"
    assert _send(adapter, SHED, config).subscribe == ["shed/climate/state", "status/shed/climate"]


def test_a_captured_tasmota_config_with_tilde_custom_availability_words_and_an_override():
    adapter = _adapter(entities={"522851_ENERGY_Today": "energy"})
    assert _feed(adapter, "Tasmota 7.1.1: `~` base topic").subscribe == [
        "tasmota01/tele/SENSOR",
        "tasmota01/tele/LWT",
    ]
    [state] = _feed(adapter, "Tasmota: an energy SENSOR").reports
    assert state.readings == [RawReading("energy", 0.088, "kWh", None)]
    [presence] = _feed(adapter, "Tasmota: its LWT").reports
    assert (presence.device, presence.presence) == ("522851", "online")
    assert _send(adapter, "tasmota01/tele/LWT", "Offline").reports[0].presence == "offline"


def test_a_motion_binary_sensor_on_is_occupancy_true():
    adapter = _adapter()
    [report] = _feed(adapter, "HA docs: motion binary_sensor", "HA docs: motion state").reports
    assert report.readings == [RawReading("occupancy", True, None, None)]


@pytest.mark.parametrize(("state", "closed"), [("ON", False), ("OFF", True)])
def test_a_door_that_home_assistant_calls_on_is_open_so_our_contact_is_false(state, closed):
    adapter = _adapter()
    config = {
        "device_class": "door",
        "state_topic": "barn/door",
        "device": {"identifiers": ["barn"]},
    }
    _send(adapter, "homeassistant/binary_sensor/barn/door/config", config)
    [report] = _send(adapter, "barn/door", state).reports
    assert report.readings == [RawReading("contact", closed, None, None)]


def test_json_boolean_payload_on_and_off_match_the_rendered_template():
    adapter = _adapter()
    _feed(adapter, "Zigbee2MQTT: water leak")
    [report] = _send(adapter, "zigbee2mqtt/0xa4c1388a42f61a5e", {"water_leak": True}).reports
    assert report.readings == [RawReading("water_leak", True, None, None)]


def test_a_binary_state_that_is_neither_payload_is_refused_as_a_reading():
    adapter = _adapter()
    _feed(adapter, "HA docs: motion binary_sensor")
    [report] = _send(adapter, "homeassistant/binary_sensor/garden/state", "MAYBE").reports
    [problem] = report.problems
    assert problem.reason == "wrong_type" and "'MAYBE'" in problem.detail and not report.readings


@pytest.mark.parametrize(
    ("template", "payload", "value"),
    [
        ("{{ value }}", "21.5", 21.5),
        ("{{ value_json.t }}", '{"t": 21.5}', 21.5),
        ("{{ value_json['t'] }}", '{"t": 21.5}', 21.5),
        ('{{ value_json["ENERGY"]["Power"] }}', '{"ENERGY": {"Power": 30}}', 30.0),
        ("{{ value_json.a.b }}", '{"a": {"b": 4.5}}', 4.5),
        ("{{value_json['ENERGY'].Today}}", '{"ENERGY": {"Today": 0.5}}', 0.5),
        ("{{ value_json.list[1] }}", '{"list": [1, 2]}', 2.0),
        ("{{ value_json.t | float }}", '{"t": "21.5"}', 21.5),
        ("{{ value_json.t | float(0) }}", '{"t": "21.5"}', 21.5),
        ("{{ value | int }}", "21.7", 21.0),
        ("{{ value_json.t | round(1) }}", '{"t": 21.46}', 21.5),
        ("{{ value | float | round }}", "21.7", 22.0),
        ("{{ value | float / 10 }}", "215", 21.5),
        ("{{ (value_json.t * 0.1) | round(2) }}", '{"t": 214.56}', 21.46),
        ("{{- value_json.t | is_defined -}}", '{"t": 21.5}', 21.5),
    ],
)
def test_the_common_value_template_forms_give_the_value(template, payload, value):
    adapter = _adapter()
    _send(adapter, SHED, _sensor_config(value_template=template))
    [report] = _send(adapter, "shed/state", payload).reports
    assert report.readings == [RawReading("air_temperature", value, "°C", None)]


@pytest.mark.parametrize(
    "template",
    [
        "{{ value_json.t if value_json.t else 0 }}",
        "{{ states('sensor.x') }}",
        "{{ value_json.t | default(0) }}",
        "{% if value %}1{% endif %}",
        "{{ value }} °C",
        "{{ value_json.t * value_json.k }}",
        "{{ value_json.t / 0 }}",
        "{{ value_json.t - 1 }}",
    ],
)
def test_other_templates_refuse_the_entity_once_naming_the_template(template):
    adapter = _adapter()
    translation = _send(adapter, SHED, _sensor_config(value_template=template))
    [report] = translation.reports
    [problem] = report.problems
    assert problem.reason == "unsupported_template" and template[:40] in problem.detail
    assert report.device == "shed01" and not translation.subscribe
    # Nothing of it is followed, so its states cost nothing and refuse nothing.
    later = _send(adapter, "shed/state", '{"t": 1}')
    assert later.quiet and not later.reports and not later.problems


def test_a_filter_that_cannot_read_the_value_refuses_that_reading_only():
    adapter = _adapter()
    _send(adapter, SHED, _sensor_config(value_template="{{ value_json.t | float }}"))
    other = _sensor_config(device_class="humidity", unit_of_measurement="%")
    other["value_template"] = "{{ value_json.h }}"
    _send(adapter, "homeassistant/sensor/shed/humidity/config", other)
    [report] = _send(adapter, "shed/state", '{"t": "broken", "h": 40}').reports
    assert report.readings == [RawReading("air_humidity", 40.0, "%", None)]
    [problem] = report.problems
    assert problem.reason == "wrong_type" and "'broken'" in problem.detail


def test_a_state_with_nothing_where_the_template_points_is_skipped_not_refused():
    adapter = _adapter()
    _send(adapter, SHED, _sensor_config(value_template="{{ value_json.t }}"))
    for payload in ('{"other": 1}', '{"t": null}', '{"t": "unavailable"}'):
        [report] = _send(adapter, "shed/state", payload).reports
        assert report.skipped == ["sensor shed/temperature"]
        assert not report.readings and not report.problems


def test_a_plain_value_of_nan_is_passed_on_as_not_finite():
    adapter = _adapter()
    [report] = _feed(adapter, "ESPHome: abbreviated temperature", "ESPHome: a failed").reports
    [reading] = report.readings
    assert reading.sensor == "air_temperature" and math.isnan(reading.value)


def test_an_empty_config_forgets_the_entity():
    adapter = _adapter()
    translation = _feed(adapter, "HA docs: motion binary_sensor", "HA docs: an empty config")
    assert translation.quiet and not translation.reports
    later = _send(adapter, "homeassistant/binary_sensor/garden/state", "ON")
    assert later.quiet and not later.reports


def test_a_new_config_for_an_entity_replaces_the_old_one():
    adapter = _adapter()
    _send(adapter, SHED, _sensor_config(state_topic="shed/old"))
    assert _send(adapter, SHED, _sensor_config(state_topic="shed/new")).subscribe == ["shed/new"]
    assert _send(adapter, "shed/old", "20").quiet
    assert _send(adapter, "shed/new", "20").reports[0].readings


def test_unmapped_entities_are_listed_as_skipped_and_not_followed():
    adapter = _adapter()
    translation = _feed(adapter, "Tasmota 9.3.1: status entity")
    [report] = translation.reports
    assert (report.device, report.foreign_id) == ("48f22e", "TV_Zasuvka")
    assert report.skipped == ["sensor 48F22E_status"] and not translation.subscribe


@pytest.mark.parametrize(
    ("unit", "name", "sensor"),
    [
        ("mV", "Voltage", "battery_voltage"),
        ("V", "Battery Voltage", "battery_voltage"),
        ("V", "Voltage", "mains_voltage"),
    ],
)
def test_a_voltage_is_the_batterys_in_mv_or_by_name_and_otherwise_the_mains(unit, name, sensor):
    adapter = _adapter()
    config = _sensor_config(device_class="voltage", unit_of_measurement=unit, name=name)
    _send(adapter, "homeassistant/sensor/node/volts/config", config)
    [report] = _send(adapter, "shed/state", "3.3").reports
    assert report.readings == [RawReading(sensor, 3.3, unit, None)]


def test_a_signal_strength_in_percent_is_not_rssi():
    adapter = _adapter()
    config = _sensor_config(device_class="signal_strength", unit_of_measurement="%")
    assert _send(adapter, SHED, config).reports[0].skipped


def test_fahrenheit_is_passed_on_in_the_catalogs_spelling():
    adapter = _adapter()
    _send(adapter, SHED, _sensor_config(unit_of_measurement="°F"))
    assert _send(adapter, "shed/state", "68").reports[0].readings == [
        RawReading("air_temperature", 68.0, "[degF]", None)
    ]


def test_a_unit_the_sensor_type_cannot_take_refuses_the_entity_once():
    adapter = _adapter()
    translation = _feed(adapter, "EMS-ESP")
    [report] = translation.reports
    [problem] = report.problems
    assert problem.reason == "unknown_unit" and "'bar'" in problem.detail
    assert "entities" in problem.detail and not translation.subscribe


@pytest.mark.parametrize("key", ["boiler_system_pressure", "ems-esp/boiler_system_pressure"])
def test_an_entity_is_ignored_by_its_unique_id_object_id_or_topic_path(key):
    translation = _feed(_adapter(entities={key: False}), "EMS-ESP")
    assert translation.quiet and not translation.reports


def test_an_override_gives_the_sensor_type_unit_and_scale():
    adapter = _adapter(
        entities={
            "boiler_system_pressure": {"sensor": "air_pressure", "unit": "hPa", "scale": 1000}
        }
    )
    assert _feed(adapter, "EMS-ESP").subscribe == ["ems-esp/boiler_data"]
    [report] = _send(adapter, "ems-esp/boiler_data", '{"syspress": 1.5}').reports
    assert report.readings == [RawReading("air_pressure", 1500.0, "hPa", None)]


def test_a_device_without_identifiers_is_named_by_the_node_id_or_object_id():
    adapter = _adapter()
    config = _sensor_config(device=None)
    _send(adapter, "homeassistant/sensor/Pump_House/temperature/config", config)
    [report] = _send(adapter, "shed/state", "20").reports
    assert (report.device, report.foreign_id) == ("pump_house", "Pump_House")
    _send(
        adapter, "homeassistant/sensor/cellar/config", _sensor_config(device=None, state_topic="c")
    )
    assert _send(adapter, "c", "20").reports[0].device == "cellar"


def test_a_device_name_given_by_one_entity_is_kept_for_its_others():
    adapter = _adapter()
    [report] = _feed(
        adapter, "HA docs: temperature", "HA docs: humidity", "HA docs: the shared"
    ).reports
    assert report.foreign_id == "Bedroom"


def test_two_entities_giving_one_device_the_same_sensor_type_refuse_the_second():
    adapter = _adapter()
    _send(adapter, SHED, _sensor_config())
    translation = _send(adapter, "homeassistant/sensor/shed/t2/config", _sensor_config())
    [problem] = translation.reports[0].problems
    assert problem.reason == "duplicate_sensor" and "air_temperature" in problem.detail


def test_the_number_of_entities_followed_is_bounded():
    adapter = _adapter(max_entities=2)
    units = {"temperature": "°C", "humidity": "%", "pressure": "hPa"}
    configs = {c: _sensor_config(device_class=c, unit_of_measurement=u) for c, u in units.items()}
    topics = {c: f"homeassistant/sensor/shed/{c}/config" for c in units}
    results = [_send(adapter, topics[c], configs[c]) for c in units]
    assert [bool(r.subscribe) for r in results] == [True, True, False]
    [problem] = results[2].reports[0].problems
    assert problem.reason == "too_many_entities" and "max_entities" in problem.detail
    _send(adapter, topics["temperature"], "")  # forgotten: room for one more
    assert _send(adapter, topics["pressure"], configs["pressure"]).subscribe == ["shed/state"]


def test_availability_in_mode_all_is_online_only_while_every_heard_topic_is():
    adapter = _adapter()
    _feed(adapter, "Zigbee2MQTT 2.3.0: battery config")
    own = "zigbee2mqtt/0xa4c1388a42f61a5e/availability"
    bridge = "zigbee2mqtt/bridge/state"
    steps = [
        (own, "online", "online"),
        (bridge, "offline", "offline"),
        (bridge, "online", "online"),
        (own, "offline", "offline"),
        (bridge, "online", "offline"),
    ]
    for topic, word, presence in steps:
        [report] = _send(adapter, topic, {"state": word}).reports
        assert report.presence == presence, (topic, word)


def test_a_shared_availability_topic_gives_presence_for_every_device_once():
    adapter = _adapter()
    for device in ("a", "b"):
        config = _sensor_config(state_topic=f"z/{device}", device={"identifiers": [device]})
        config["availability"] = [{"topic": "z/bridge", "value_template": "{{ value_json.state }}"}]
        config["device_class"] = "battery"
        config["unit_of_measurement"] = "%"
        _send(adapter, f"homeassistant/sensor/{device}/battery/config", config)
        config = dict(config, device_class="temperature", unit_of_measurement="°C")
        _send(adapter, f"homeassistant/sensor/{device}/temperature/config", config)
    reports = _send(adapter, "z/bridge", {"state": "offline"}).reports
    assert [(r.device, r.presence) for r in reports] == [("a", "offline"), ("b", "offline")]


def test_an_availability_word_that_is_neither_payload_is_refused():
    adapter = _adapter()
    _feed(adapter, "ESPHome: abbreviated temperature")
    [report] = _send(adapter, "livingroom/status", "maybe").reports
    [problem] = report.problems
    assert problem.reason == "bad_payload" and "'online' or 'offline'" in problem.detail
    assert report.presence is None


def test_device_based_discovery_gives_each_component_the_root_state_topic():
    adapter = _adapter()
    [report] = _feed(adapter, "HA docs: device-based", "device-based discovery: the state").reports
    assert (report.device, report.foreign_id) == ("ea334450945afc", "Kitchen")
    assert [r.sensor for r in report.readings] == ["air_temperature", "air_humidity"]


def test_a_device_config_without_a_component_forgets_it():
    adapter = _adapter()
    topic, payload = _sample("HA docs: device-based")
    config = json.loads(payload)
    config["cmps"]["some_unique_id2"] = {"p": "sensor"}
    _feed(adapter, "HA docs: device-based")
    _send(adapter, topic, config)
    [report] = _send(adapter, "sensorBedroom/state", '{"temperature":1,"humidity":2}').reports
    assert [r.sensor for r in report.readings] == ["air_temperature"]


def test_an_entity_of_another_component_is_read_when_the_source_maps_it():
    adapter = _adapter(entities={"tasmota_relay": "lamp_state"})
    config = {"stat_t": "stat/lamp/POWER", "uniq_id": "tasmota_relay", "dev": {"ids": ["lamp"]}}
    assert _send(adapter, "homeassistant/switch/tasmota_relay/config", config).subscribe
    [report] = _send(adapter, "stat/lamp/POWER", "ON").reports
    assert report.readings == [RawReading("lamp_state", "ON", None, None)]


def test_a_state_not_in_json_refuses_only_the_entities_whose_template_needs_json():
    adapter = _adapter()
    _send(adapter, SHED, _sensor_config(value_template="{{ value_json.t }}"))
    plain = _sensor_config(device_class="motion", unit_of_measurement=None)
    _send(adapter, "homeassistant/binary_sensor/shed/motion/config", plain)
    [report] = _send(adapter, "shed/state", "ON").reports
    assert report.readings == [RawReading("occupancy", True, None, None)]
    assert [(p.reason, p.sensor) for p in report.problems] == [("bad_json", "air_temperature")]


def test_a_state_not_in_json_is_refused_when_every_template_needs_json():
    adapter = _adapter()
    _feed(adapter, "HA docs: temperature", "HA docs: humidity")
    translation = _send(adapter, "homeassistant/sensor/sensorBedroom/state", "ON")
    assert [p.reason for p in translation.problems] == ["bad_json"] and not translation.reports


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{not json", "bad_json"),
        (b"[1, 2]", "bad_payload"),
        (b'{"stat_t": 5, "dev_cla": "temperature"}', "bad_payload"),
        (b'{"dev_cla": "temperature", "stat_t": "x/+/y"}', "bad_payload"),
        (b'{"dev_cla": "temperature"}', "bad_payload"),
        (b'{"dev_cla": "temperature", "stat_t": "s", "avty": "s/status"}', "bad_payload"),
        (b'{"dev_cla": "temperature", "stat_t": "s", "avty_mode": "most"}', "bad_payload"),
        (b'{"dev_cla": "temperature", "stat_t": "s", "dev": {"ids": [true]}}', "bad_payload"),
        (
            b'{"dev_cla": "temperature", "stat_t": "s", "avty_tpl": "{{ x }}", "avty_t": "a"}',
            "unsupported_template",
        ),
    ],
)
def test_unusable_configs_are_refused_with_a_reason(payload, reason):
    translation = _adapter().translate(SHED, payload, NOW_MS, None)
    problems = translation.problems + [p for r in translation.reports for p in r.problems]
    assert [p.reason for p in problems] == [reason] and not translation.subscribe


@pytest.mark.parametrize(
    "config",
    [{"cmps": 5}, {"cmps": {"a": 5}}, {"cmps": {"a": {"dev_cla": "temperature"}}}],
)
def test_unusable_device_configs_are_refused(config):
    translation = _send(_adapter(), "homeassistant/device/kitchen/config", config)
    assert [p.reason for p in translation.problems] == ["bad_payload"]


def test_home_assistants_own_status_and_unknown_topics_are_quiet():
    adapter = _adapter()
    for topic in ("homeassistant/status", "homeassistant/sensor/x/state", "elsewhere/x"):
        translation = _send(adapter, topic, "online")
        assert translation.quiet and not translation.reports and not translation.problems


def test_a_migration_message_is_quiet_and_keeps_the_entity():
    adapter = _adapter()
    _send(adapter, SHED, _sensor_config())
    assert _send(adapter, SHED, {"migrate_discovery": True}).quiet
    assert _send(adapter, "shed/state", "20").reports[0].readings


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"\xff\xfe",
        b"null",
        b'{"t": [1]}',
        b'{"t": {"a": 1}}',
        b"1e999",
        b'"x"' * 5000,
        b'{"t": 1' + b"0" * 5000 + b"}",
        b"[" * 50 + b"]" * 50,
    ],
)
def test_no_state_payload_makes_it_raise(payload):
    adapter = _adapter()
    for name, template in (("t", "{{ value_json.t | float }}"), ("p", "{{ value | int }}")):
        config = _sensor_config(value_template=template, state_topic=f"s/{name}")
        config["avty_t"] = "s/avail"
        config["avty_tpl"] = "{{ value_json.t }}"
        config["device_class"] = "temperature" if name == "t" else "humidity"
        _send(adapter, f"homeassistant/sensor/shed/{name}/config", config)
    for topic in ("s/t", "s/p", "s/avail", SHED):
        adapter.translate(topic, payload, NOW_MS, None)


def test_configuration_errors_name_what_to_fix():
    with pytest.raises(
        ValueError, match=r"ingest.sources\[0\] \(homeassistant\).*water_temprature"
    ):
        _adapter(entities={"x": "water_temprature"})
    with pytest.raises(ValueError, match="max_entities"):
        _adapter(max_entities=0)
    with pytest.raises(ValueError, match="discovery_prefx"):
        _adapter(discovery_prefx="ha")


def test_a_compiled_template_says_whether_it_needs_json():
    assert not compile_template("{{ value }}").needs_json
    assert compile_template("{{ value_json.x }}").needs_json


def test_template_errors_are_value_errors_the_adapter_turns_into_reasons():
    with pytest.raises(UnsupportedTemplate, match=re.escape("'{{ foo }}'")):
        compile_template("{{ foo }}")
    with pytest.raises(TemplateValueError):
        compile_template("{{ value | float }}").render("abc", None)
