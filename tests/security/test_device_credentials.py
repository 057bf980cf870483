"""Device credentials: issued once, kept as hashes, turned into the broker's passwd, ACL and
config."""

import subprocess
from pathlib import Path

import pytest

from village_brain.broker.credentials import hash_password, verify_password
from village_brain.broker.credentials_commands import issue_credentials, write_broker_files
from village_brain.cli import main
from village_brain.core.config import ConfigError, load_settings
from village_brain.core.devices import Device
from village_brain.store.credentials import CredentialStore
from village_brain.store.registry import RegistryStore


def settings_for(tmp_path, **mqtt):
    return load_settings(store={"data_dir": tmp_path / "data"}, mqtt=mqtt)


def register(tmp_path, *devices):
    registry = RegistryStore(tmp_path / "data" / "registry.sqlite3")
    registry.upsert_devices(Device(id=d, village=v) for d, v in devices)
    registry.close()


def test_a_hash_accepts_its_password_and_no_other():
    hashed = hash_password("river-bank-42")
    assert verify_password("river-bank-42", hashed)
    assert not verify_password("river-bank-43", hashed)


def test_hashes_made_by_mosquitto_passwd_are_read_the_same_way(tmp_path):
    passwd = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-c", "-b", passwd, "gauge", "s3cret"], check=True)
    hashed = passwd.read_text().strip().split(":", 1)[1]
    assert verify_password("s3cret", hashed)


def test_each_registered_device_gets_a_password_once(tmp_path):
    register(tmp_path, ("gauge-1", "xiashan"), ("lamp-2", "xiashan"))
    settings = settings_for(tmp_path)
    first = issue_credentials(settings, rotate=[])
    assert [device for device, _ in first] == ["gauge-1", "lamp-2"]
    assert issue_credentials(settings, rotate=[]) == []


def test_only_a_hash_of_the_password_is_stored(tmp_path):
    register(tmp_path, ("gauge-1", "xiashan"))
    [(_, password)] = issue_credentials(settings_for(tmp_path), rotate=[])
    store = CredentialStore(tmp_path / "data" / "registry.sqlite3")
    stored = store.hashes()["gauge-1"]
    store.close()
    assert stored.startswith("$7$") and verify_password(password, stored)
    files = b"".join(path.read_bytes() for path in (tmp_path / "data").iterdir())
    assert password.encode() not in files


def test_rotating_replaces_the_old_password(tmp_path):
    register(tmp_path, ("gauge-1", "xiashan"))
    settings = settings_for(tmp_path)
    [(_, old)] = issue_credentials(settings, rotate=[])
    [(_, new)] = issue_credentials(settings, rotate=["gauge-1"])
    store = CredentialStore(tmp_path / "data" / "registry.sqlite3")
    stored = store.hashes()["gauge-1"]
    store.close()
    assert verify_password(new, stored) and not verify_password(old, stored)


def test_rotating_an_unknown_device_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="not registered devices: ghost"):
        issue_credentials(settings_for(tmp_path), rotate=["ghost"])


def test_the_acl_confines_each_device_to_its_own_topics(tmp_path):
    register(tmp_path, ("gauge-1", "xiashan"))
    issue_credentials(settings_for(tmp_path), rotate=[])
    write_broker_files(settings_for(tmp_path, username="ingest", password="pw"), tmp_path / "b")
    acl = (tmp_path / "b" / "acl").read_text()
    assert (
        "user gauge-1\n"
        "topic write village/xiashan/gauge-1/telemetry\n"
        "topic write village/xiashan/gauge-1/status\n"
        "topic write village/xiashan/gauge-1/event\n"
        "topic read village/xiashan/gauge-1/command/#\n"
    ) in acl
    assert "user ingest\ntopic read village/#\n" in acl


def test_the_acl_lets_ingest_read_its_sources_and_answer_where_they_expect(tmp_path):
    sources = [
        {"adapter": "zigbee2mqtt", "village": "xiashan"},
        {"adapter": "alink", "village": "xiashan"},
    ]
    settings = load_settings(
        store={"data_dir": tmp_path / "data"},
        mqtt={"username": "ingest", "password": "pw"},
        ingest={"sources": sources},
    )
    write_broker_files(settings, tmp_path / "b")
    acl = (tmp_path / "b" / "acl").read_text()
    ingest = acl.split("user ingest\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert "topic read zigbee2mqtt/#" in ingest
    assert "topic read /sys/+/+/thing/event/+/post" in ingest
    assert "topic write /sys/+/+/thing/event/+/post_reply" in ingest
    # Only the devices' set topics, where commands go (docs/control.md), never their reports.
    assert [line for line in ingest if line.startswith("topic write zigbee2mqtt")] == [
        "topic write zigbee2mqtt/+/set",
        "topic write zigbee2mqtt/+/+/set",
    ]


def test_the_password_file_holds_hashes_readable_only_by_its_owner(tmp_path):
    register(tmp_path, ("gauge-1", "xiashan"))
    [(_, password)] = issue_credentials(settings_for(tmp_path), rotate=[])
    write_broker_files(settings_for(tmp_path, username="ingest", password="pw"), tmp_path / "b")
    passwd = tmp_path / "b" / "passwd"
    users = dict(line.split(":", 1) for line in passwd.read_text().splitlines())
    assert verify_password(password, users["gauge-1"]) and verify_password("pw", users["ingest"])
    assert passwd.stat().st_mode & 0o077 == 0


def test_the_broker_config_refuses_anonymous_clients_and_names_sessions_by_user(
    tmp_path, monkeypatch
):
    register(tmp_path, ("gauge-1", "xiashan"))
    monkeypatch.chdir(tmp_path)
    write_broker_files(settings_for(tmp_path, username="ingest", password="pw"), Path("b"))
    lines = (tmp_path / "b" / "mosquitto.conf").read_text().splitlines()
    assert "allow_anonymous true" not in lines and "allow_anonymous false" in lines
    # Absolute, so the broker finds them wherever it is started from.
    assert f"password_file {tmp_path / 'b' / 'passwd'}" in lines
    assert f"acl_file {tmp_path / 'b' / 'acl'}" in lines
    # A listener option: it must follow the listener, or Mosquitto opens a default one for it.
    listener = next(i for i, line in enumerate(lines) if line.startswith("listener "))
    assert lines[listener + 1] == "use_username_as_clientid true"
    assert lines.count("use_username_as_clientid true") == 1


def test_broker_files_need_a_user_for_ingest(tmp_path):
    with pytest.raises(ConfigError, match="ingest needs its own broker user"):
        write_broker_files(settings_for(tmp_path), tmp_path / "b")


def test_the_credentials_command_prints_each_new_password(tmp_path, capsys):
    register(tmp_path, ("gauge-1", "xiashan"))
    data = str(tmp_path / "data")
    assert main(["devices", "credentials", "--data-dir", data]) == 0
    device, password = capsys.readouterr().out.strip().split("\t")
    assert device == "gauge-1" and len(password) >= 20
