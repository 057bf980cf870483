"""What the simulated devices put on the wire follows PROTOCOL.md."""

import json

from village_brain.core.catalog import default_catalog
from village_brain.ingest.codecs.native import NativeCodec
from village_brain.simulator.device import Event, Sample
from village_brain.simulator.payloads import (
    MAX_BACKLOG,
    event_payload,
    native_telemetry,
    senml_telemetry,
    topic,
)

NOW = 1_780_000_000_000
GAUGE = Sample(NOW, {"water_level": 1.42, "rainfall": 0.4, "battery_voltage": 3.61, "rssi": -87})
LAMP = Sample(NOW, {"lamp_state": True, "lamp_power": 60.2, "illuminance": 3})
BUOY = Sample(NOW, {"water_ph": 7.31, "turbidity": 8.2, "dissolved_oxygen": 7.9})


def test_topics_follow_the_village_device_channel_layout():
    assert topic("xiashan", "gauge-xiashan-01", "telemetry") == (
        "village/xiashan/gauge-xiashan-01/telemetry"
    )


def test_a_native_message_has_the_time_and_values_of_the_sample():
    message = json.loads(native_telemetry(GAUGE))
    assert message == {"ts": NOW, "values": GAUGE.values}


def test_lamp_state_is_sent_as_the_word_on_or_off():
    assert json.loads(native_telemetry(LAMP))["values"]["lamp_state"] == "on"


def test_buffered_samples_travel_in_the_batch_with_their_own_times():
    backlog = [Sample(NOW - 60_000 * n, {"water_level": 1.0 + n / 100}) for n in (3, 2, 1)]
    message = json.loads(native_telemetry(GAUGE, backlog))
    assert [entry["ts"] for entry in message["batch"]] == [s.ts_ms for s in backlog]
    assert message["batch"][0]["values"] == {"water_level": 1.03}


def test_a_long_backlog_keeps_only_its_newest_samples():
    backlog = [Sample(NOW - 1000 * n, {"water_level": 1.0}) for n in range(500, 0, -1)]
    batch = json.loads(native_telemetry(GAUGE, backlog))["batch"]
    assert len(batch) == MAX_BACKLOG
    assert batch[-1]["ts"] == NOW - 1000


def test_the_server_reads_every_native_reading_without_a_problem():
    backlog = [Sample(NOW - 60_000, LAMP.values)]
    decoded = NativeCodec().decode(native_telemetry(LAMP, backlog), NOW)
    assert decoded.problems == []
    assert len(decoded.readings) == 6
    assert {r.ts_ms for r in decoded.readings} == {NOW, NOW - 60_000}


def test_a_senml_pack_names_the_device_and_uses_catalog_units():
    pack = json.loads(senml_telemetry("buoy-xiashan-01", default_catalog(), BUOY))
    assert pack[0]["bn"] == "buoy-xiashan-01:"
    assert pack[0]["bt"] == NOW / 1000
    assert [(r["n"], r["u"], r["v"]) for r in pack] == [
        ("water_ph", "pH", 7.31),
        ("turbidity", "NTU", 8.2),
        ("dissolved_oxygen", "mg/L", 7.9),
    ]


def test_senml_resolved_names_end_in_the_sensor_id_after_a_colon():
    pack = json.loads(senml_telemetry("buoy-xiashan-01", default_catalog(), BUOY))
    names = [pack[0]["bn"] + record["n"] for record in pack]
    assert [name.rsplit(":", 1)[1] for name in names] == list(BUOY.values)


def test_a_senml_backlog_is_one_pack_with_times_relative_to_the_oldest():
    old = Sample(NOW - 90_000, {"water_ph": 7.2})
    pack = json.loads(senml_telemetry("buoy-xiashan-01", default_catalog(), BUOY, [old]))
    assert pack[0]["bt"] == (NOW - 90_000) / 1000
    assert "t" not in pack[0]
    assert {record["t"] for record in pack[1:]} == {90.0}


def test_senml_booleans_use_vb_without_a_unit():
    pack = json.loads(senml_telemetry("lamp-xiashan-01", default_catalog(), LAMP))
    assert pack[0] == {"bn": "lamp-xiashan-01:", "bt": NOW / 1000, "n": "lamp_state", "vb": True}


def test_an_event_carries_type_time_and_data():
    event = Event("smoke_alarm", NOW, {"place": "祠堂"})
    assert json.loads(event_payload(event)) == {
        "type": "smoke_alarm",
        "ts": NOW,
        "data": {"place": "祠堂"},
    }
