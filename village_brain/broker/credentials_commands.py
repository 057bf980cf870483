"""`village-brain devices credentials` and `village-brain broker-files`.

Passwords are printed once, when made; the registry keeps only their hashes, and the
broker files are written from those hashes.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from village_brain.broker.acl import DeviceGrant, render_acl, render_passwd
from village_brain.broker.credentials import hash_password, new_password
from village_brain.broker.settings import load_recommended_settings, render_secured_config
from village_brain.control.downlinks import Downlinks
from village_brain.core.catalog import load_catalog
from village_brain.core.config import ConfigError, Settings
from village_brain.core.devices import load_devices_file
from village_brain.core.timefmt import now_ms
from village_brain.ingest.sources.router import build_sources
from village_brain.store.credentials import CredentialStore
from village_brain.store.registry_open import open_registry

SettingsFrom = Callable[[argparse.Namespace], Settings]
REGISTRY_FILE = "registry.sqlite3"


def add_commands(commands: argparse._SubParsersAction, settings_from: SettingsFrom) -> None:
    defaults = {"mqtt_url": None, "mqtt_listen": None, "http": None, "demo": False}
    devices = commands.add_parser("devices", help="device administration")
    device_commands = devices.add_subparsers(required=True, metavar="COMMAND")
    creds = device_commands.add_parser(
        "credentials", help="give devices broker passwords (printed once; stored as hashes)"
    )
    _common(creds)
    creds.add_argument(
        "--rotate", metavar="ID", action="append", default=[], help="replace this device's password"
    )
    creds.set_defaults(run=lambda args: _credentials(settings_from(args), args.rotate), **defaults)

    files = commands.add_parser(
        "broker-files",
        help="write Mosquitto's password file, ACL and config with device logins",
    )
    _common(files)
    files.add_argument(
        "--out", type=Path, required=True, help="directory for passwd, acl and mosquitto.conf"
    )
    files.set_defaults(run=lambda args: _broker_files(settings_from(args), args.out), **defaults)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="TOML configuration file")
    parser.add_argument("--data-dir", type=Path, help="where the registry is kept")


def known_devices(settings: Settings) -> dict[str, str]:
    """Device id -> village: the registry's devices and those of the devices file."""
    registry = open_registry(settings)
    try:
        devices = {row.device.id: row.device.village for row in registry.devices()}
    finally:
        registry.close()
    if settings.store.devices_file is not None:
        catalog = load_catalog(settings.store.catalog_file)
        for device in load_devices_file(settings.store.devices_file, set(catalog.types)):
            devices[device.id] = device.village
    return devices


def issue_credentials(settings: Settings, rotate: list[str]) -> list[tuple[str, str]]:
    """New (device, password) pairs: for `rotate`, or else for every device without one."""
    devices = known_devices(settings)
    unknown = sorted(set(rotate) - set(devices))
    if unknown:
        raise ConfigError(f"not registered devices: {', '.join(unknown)}")
    store = CredentialStore(settings.store.data_dir / REGISTRY_FILE)
    try:
        targets = rotate or sorted(set(devices) - set(store.hashes()))
        issued = [(device, new_password()) for device in targets]
        for device, password in issued:
            store.set_hash(device, hash_password(password), now_ms())
    finally:
        store.close()
    return issued


def write_broker_files(settings: Settings, out: Path) -> list[str]:
    """Write `passwd`, `acl` and `mosquitto.conf` into `out`; returns the devices left
    without a password."""
    user, password = settings.mqtt.username, settings.mqtt.password
    if not user or password is None:
        raise ConfigError("set mqtt.username and mqtt.password: ingest needs its own broker user")
    devices = known_devices(settings)
    if user in devices:
        raise ConfigError(f"mqtt.username {user!r} is also a device id; choose another name")
    store = CredentialStore(settings.store.data_dir / REGISTRY_FILE)
    try:
        hashes = {d: h for d, h in store.hashes().items() if d in devices}
    finally:
        store.close()
    hashes[user] = hash_password(password.get_secret_value())
    grants = [DeviceGrant(d, devices[d]) for d in sorted(hashes) if d in devices]
    out.mkdir(parents=True, exist_ok=True)
    _write_private(out / "passwd", render_passwd(hashes))
    sources = build_sources(settings.ingest.sources, load_catalog(settings.store.catalog_file))
    reads = [f for source in sources for f in source.filters]
    writes = [f for source in sources for f in source.reply_filters()]
    writes += Downlinks.of(sources, load_catalog(settings.store.catalog_file)).write_filters()
    (out / "acl").write_text(render_acl(user, grants, reads, writes), encoding="utf-8")
    where = out.resolve()
    config = render_secured_config(load_recommended_settings(), where / "passwd", where / "acl")
    (out / "mosquitto.conf").write_text(config, encoding="utf-8")
    return sorted(set(devices) - set(hashes))


def _write_private(path: Path, text: str) -> None:
    """Hashes are still worth guessing at: only the owner may read them."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text)
    path.chmod(0o600)


def _credentials(settings: Settings, rotate: list[str]) -> int:
    issued = issue_credentials(settings, rotate)
    if not issued:
        print("every registered device already has a password", file=sys.stderr)
        return 0
    print("new passwords; they are shown only now:", file=sys.stderr)
    for device, password in issued:
        print(f"{device}\t{password}")
    print("then run `village-brain broker-files` and reload the broker", file=sys.stderr)
    return 0


def _broker_files(settings: Settings, out: Path) -> int:
    missing = write_broker_files(settings, out)
    print(f"wrote {out / 'passwd'}, {out / 'acl'} and {out / 'mosquitto.conf'}", file=sys.stderr)
    print(
        "the first time, install mosquitto.conf as the broker's main config and restart the "
        "broker; later, a reload (SIGHUP) rereads passwd and acl",
        file=sys.stderr,
    )
    if missing:
        print(
            f"no password yet (cannot connect): {', '.join(missing)}; "
            "run `village-brain devices credentials`",
            file=sys.stderr,
        )
    return 0
