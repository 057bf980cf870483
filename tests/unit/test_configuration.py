"""Configuration: file, environment and flags, checked at start with errors that say what to fix."""

import pytest

from village_brain.core.config import ConfigError, load_settings
from village_brain.core.config_reference import settings_reference
from village_brain.core.devices import load_devices_file


def test_defaults_run_the_embedded_setup():
    settings = load_settings()
    assert settings.mqtt.url is None and settings.store.backend == "sqlite"


def test_environment_variables_set_nested_settings(monkeypatch):
    monkeypatch.setenv("VILLAGE_BRAIN_INGEST__REGISTRATION", "strict")
    assert load_settings().ingest.registration == "strict"


def test_a_file_sets_values_and_flags_override_it(tmp_path):
    config = tmp_path / "village.toml"
    config.write_text('[store]\nretention = "30d"\n[http]\nport = 9000\n')
    settings = load_settings(config, http={"port": 9100})
    assert (settings.store.retention, settings.http.port) == ("30d", 9100)


def test_a_misspelt_setting_is_named(tmp_path):
    config = tmp_path / "village.toml"
    config.write_text('[ingest]\nregistraton = "auto"\n')
    with pytest.raises(ConfigError, match=r"ingest\.registraton: is not a setting"):
        load_settings(config)


def test_a_bad_duration_says_how_to_write_one():
    with pytest.raises(ConfigError, match=r"ingest.max_backfill: '7x' is not a duration.*7d"):
        load_settings(ingest={"max_backfill": "7x"})


def test_a_missing_config_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_secrets_do_not_show_in_the_settings_repr():
    settings = load_settings(mqtt={"password": "hunter2"})
    assert "hunter2" not in repr(settings)


def test_a_cluster_section_names_the_shared_postgres_and_hides_its_password(tmp_path):
    config = tmp_path / "village.toml"
    config.write_text(
        '[cluster]\npostgres_dsn = "host=db user=vb password=s3cret"\n'
        "lease_seconds = 5\npartitions = 8\n"
    )
    cluster = load_settings(config).cluster
    assert (cluster.lease_seconds, cluster.partitions) == (5.0, 8)
    assert "s3cret" not in repr(cluster)


def test_a_lease_of_no_length_is_refused():
    with pytest.raises(ConfigError, match=r"cluster\.lease_seconds"):
        load_settings(cluster={"lease_seconds": 0})


def test_the_documented_reference_matches_the_settings():
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "configuration.md").read_text("utf-8")
    assert settings_reference() in doc, "run: village-brain config --reference"


def test_a_devices_file_registers_devices_with_their_location(tmp_path):
    path = tmp_path / "devices.toml"
    path.write_text(
        '[[device]]\nid = "g1"\nvillage = "xiashan"\nlat = 30.6\nlon = 119.6\n'
        'sensors = ["water_level"]\n'
    )
    [device] = load_devices_file(path, {"water_level"})
    assert (device.id, device.lat, device.sensors) == ("g1", 30.6, ("water_level",))


def test_a_device_with_an_unknown_sensor_is_refused_by_name(tmp_path):
    path = tmp_path / "devices.toml"
    path.write_text('[[device]]\nid = "g1"\nvillage = "x"\nsensors = ["water_levle"]\n')
    with pytest.raises(
        ValueError, match="device #1 \\(g1\\): sensors not in the catalog: water_levle"
    ):
        load_devices_file(path, {"water_level"})
