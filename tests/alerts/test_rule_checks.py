"""Rules that cannot be wrong silently: each mistake is refused, saying which and why.

And rules reach further than one device: a device kind, a list of devices, a sensor type
across villages.
"""

from __future__ import annotations

import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
from restart_world import T0, World

from village_brain.alerts.engine import AlertEngine
from village_brain.alerts.evaluator import Evaluator
from village_brain.alerts.rules import Known, RuleError, default_rules, parse_rule
from village_brain.core.bus import Bus
from village_brain.core.catalog import Catalog, default_catalog, load_catalog
from village_brain.core.config import AlertSettings, ConfigError, load_settings
from village_brain.core.devices import Device
from village_brain.core.records import Reading
from village_brain.preflight import check_inputs
from village_brain.store.registry import RegistryStore

CATALOG = default_catalog()
RIVER = {
    "id": "high",
    "name": "River high",
    "severity": "major",
    "kind": "threshold",
    "sensor": "water_level",
    "above": 2.5,
}
KNOWN = Known(
    {
        "g1": ("xiashan", "river_gauge", "north bridge"),
        "g2": ("shangcun", "river_gauge", "weir"),
        "b1": ("xiashan", "sos_button", "school"),
    }
)


def refusal(fields: dict, known: Known | None = KNOWN) -> str:
    with pytest.raises(RuleError) as caught:
        parse_rule({**RIVER, **fields}, CATALOG, known)
    return str(caught.value)


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"device": "g9"}, "no device 'g9' is registered"),
        ({"devices": ["g1", "gx"]}, "no device 'gx' is registered"),
        ({"village": "xiashn"}, "no registered device is in village 'xiashn'"),
        ({"place": "south bridge"}, "no registered device is at place 'south bridge'"),
        ({"device_kind": "river_gage"}, "no registered device is of kind 'river_gage'"),
        ({"village": "xiashan", "device": "g2"}, "device 'g2' is in village 'shangcun'"),
    ],
)
def test_a_scope_naming_what_is_not_registered_is_refused(fields, says):
    assert says in refusal(fields)


def test_a_scope_naming_registered_devices_is_accepted():
    rule = parse_rule({**RIVER, "devices": ["g1", "g2"], "place": "weir"}, CATALOG, KNOWN)
    assert rule.devices == ("g1", "g2")


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        (
            {"sensor": "smoke"},
            "sensor 'smoke' reads boolean values; a threshold rule needs a number",
        ),
        (
            {"kind": "boolean", "above": None, "equals": True},
            "sensor 'water_level' reads number values; a boolean rule needs a boolean",
        ),
        (
            {"kind": "rate", "above": None, "sensor": "smoke", "rise": 1, "within": "1m"},
            "a rate rule needs a number sensor",
        ),
        (
            {"kind": "event", "above": None, "event": "smoke_alarm"},
            "an event rule takes no sensor",
        ),
        ({"sensor": None}, "a threshold rule needs a sensor"),
        ({"while_on": "water_level"}, "while_on sensor 'water_level' must be a boolean sensor"),
    ],
)
def test_a_kind_that_does_not_fit_the_sensor_type_is_refused(fields, says):
    assert says in refusal(fields, None)


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"within": "10m"}, "a threshold rule does not use within"),
        ({"clear_above": 2.0}, "clear_above goes with below"),
        (
            {"kind": "rate", "above": None, "rise": 0.2, "within": "10m", "for": "2m"},
            "a rate rule does not use for",
        ),
        (
            {"kind": "no_data", "sensor": None, "silent_for": "1h", "during": "night"},
            "a no_data rule does not use above, during",
        ),
        (
            {"kind": "event", "sensor": None, "above": None, "event": "sos", "equals": True},
            "an event rule does not use equals",
        ),
    ],
)
def test_fields_the_kind_ignores_are_refused(fields, says):
    assert says in refusal(fields, None)


def test_the_shipped_rules_pass_every_check():
    assert len(default_rules(CATALOG)) >= 14


def test_shipped_rules_for_sensors_a_village_catalog_lacks_are_left_out():
    catalog = Catalog([t for t in CATALOG.types.values() if t.id != "water_level"])
    ids = {r.id for r in default_rules(catalog)}
    assert "device_offline" in ids and "river_warning" not in ids


# --- rules reach ---------------------------------------------------------------------------


def kinds_of(device: str) -> str:
    return {"g1": "river_gauge", "g2": "river_gauge", "p1": "rain_gauge"}.get(device, "")


def fired(rule: dict, *devices: tuple[str, str]) -> list[str]:
    ev = Evaluator([parse_rule(rule, CATALOG)], CATALOG, kind_of=kinds_of)
    changes = ev.readings([Reading(v, d, "water_level", T0, 3.0) for v, d in devices])
    return [c.device for c in changes]


def test_a_rule_for_a_device_kind_watches_every_device_of_that_kind():
    rule = {**RIVER, "device_kind": "river_gauge"}
    assert fired(rule, ("xs", "g1"), ("sc", "g2"), ("xs", "p1")) == ["g1", "g2"]


def test_a_rule_for_a_list_of_devices_watches_only_those():
    rule = {**RIVER, "devices": ["g2", "p1"]}
    assert fired(rule, ("xs", "g1"), ("sc", "g2"), ("xs", "p1")) == ["g2", "p1"]


def test_a_rule_for_a_sensor_type_watches_it_across_villages():
    assert fired(RIVER, ("xs", "g1"), ("sc", "g2")) == ["g1", "g2"]


# --- through the engine and at start -------------------------------------------------------


def test_the_engine_refuses_an_api_rule_for_a_device_nobody_registered(tmp_path):
    world = World(tmp_path, "", [Device("g1", "xiashan")])
    try:
        with pytest.raises(RuleError, match="no device 'g9' is registered"):
            world.engine.put_rule({**RIVER, "device": "g9"})
        assert "high" not in world.engine.evaluator.rules
        world.engine.put_rule({**RIVER, "device": "g1"})
        assert "high" in world.engine.evaluator.rules
    finally:
        world.close()


def test_a_bad_rules_file_at_start_is_a_configuration_problem(tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rule]]\nid = "x"\nname = "x"\nseverity = "major"\nkind = "rate"\n')
    with pytest.raises(ConfigError, match=r"rules\.toml: rule 'x': a rate rule needs a sensor"):
        AlertEngine(
            AlertSettings(rules_file=rules),
            CATALOG,
            RegistryStore(tmp_path / "registry.sqlite3"),
            Bus(),
            tmp_path / "alerts.sqlite3",
        )


def config_with(tmp_path: Path, rule: str) -> Path:
    (tmp_path / "devices.toml").write_text(
        '[[device]]\nid = "g1"\nvillage = "xiashan"\nkind = "river_gauge"\n'
    )
    (tmp_path / "rules.toml").write_text(
        '[[rule]]\nid = "high"\nname = "High"\nseverity = "major"\nkind = "threshold"\n'
        f'sensor = "water_level"\nabove = 3.0\n{rule}\n'
    )
    config = tmp_path / "village.toml"
    config.write_text(
        f'[store]\ndata_dir = "{tmp_path / "data"}"\n'
        f'devices_file = "{tmp_path / "devices.toml"}"\n'
        f'[alerts]\nrules_file = "{tmp_path / "rules.toml"}"\n'
    )
    return config


def test_config_checks_the_rules_against_the_devices_file(tmp_path):
    config = config_with(tmp_path, 'device = "g2"')
    with pytest.raises(ConfigError, match="rule 'high': no device 'g2' is registered"):
        check_inputs(load_settings(config))


def test_config_accepts_rules_that_name_devices_of_the_devices_file(tmp_path):
    check_inputs(load_settings(config_with(tmp_path, 'device_kind = "river_gauge"')))


def test_the_config_command_says_what_to_fix_in_a_rules_file_with_exit_code_2(tmp_path):
    config = config_with(tmp_path, 'within = "5m"')
    done = subprocess.run(
        [sys.executable, "-m", "village_brain.cli", "config", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "a threshold rule does not use within" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_api_rule_stored_before_stray_fields_were_refused_keeps_working(tmp_path):
    world = World(tmp_path, "", [Device("g1", "xiashan")])
    try:
        stray = {**RIVER, "id": "old", "within": "10m"}
        world.engine.store.put_rule("old", stray, T0)
        world.restart()
        assert "old" in world.engine.evaluator.rules
    finally:
        world.close()


def test_a_file_rule_for_a_device_not_registered_yet_can_still_be_switched_off(tmp_path):
    rules = '[[rule]]\nid = "high"\nname = "High"\nseverity = "major"\nkind = "threshold"\n'
    rules += 'sensor = "water_level"\nabove = 3.0\ndevice = "gauge-x"\n'
    world = World(tmp_path, rules, [Device("g1", "xiashan")])
    try:
        body = {**RIVER, "device": "gauge-x", "above": 3.0, "enabled": False}
        world.engine.put_rule(body)
        assert "high" not in world.engine.evaluator.rules
    finally:
        world.close()


def test_a_village_catalog_without_river_sensors_still_starts_with_the_shipped_rules(tmp_path):
    shipped = resources.files("village_brain.core").joinpath("sensor_types.toml").read_text()
    own = "\n[".join(part for part in shipped.split("\n[") if not part.startswith("water_level]"))
    (tmp_path / "catalog.toml").write_text(own)
    config = tmp_path / "village.toml"
    config.write_text(
        f'[store]\ndata_dir = "{tmp_path / "data"}"\ncatalog_file = "{tmp_path / "catalog.toml"}"\n'
    )
    settings = load_settings(config)
    check_inputs(settings)
    engine = AlertEngine(
        settings.alerts,
        load_catalog(settings.store.catalog_file),
        RegistryStore(tmp_path / "registry.sqlite3"),
        Bus(),
        tmp_path / "alerts.sqlite3",
    )
    assert "device_offline" in engine.evaluator.rules
    assert "river_warning" not in engine.evaluator.rules
    engine.stop()
