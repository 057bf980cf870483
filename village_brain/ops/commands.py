"""`village-brain backup`, `restore` and `install-service`."""

from __future__ import annotations

import argparse
import getpass
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from village_brain.core.config import ConfigError, Settings
from village_brain.ops.backup import BackupError, backup, restore
from village_brain.ops.service_unit import DEFAULT_PATH, UnitOptions, unit_text
from village_brain.roles import ROLES, check_role

SettingsFrom = Callable[[argparse.Namespace], Settings]
_NO_SERVE_FLAGS = {"mqtt_url": None, "mqtt_listen": None, "http": None, "demo": False}


def add_ops_commands(commands: argparse._SubParsersAction, settings_from: SettingsFrom) -> None:
    made = commands.add_parser(
        "backup", help="copy every database into DIR, consistently, while serve runs or not"
    )
    made.add_argument("dir", type=Path, metavar="DIR", help="a new or empty directory")
    _data_flags(made)
    made.set_defaults(run=lambda args: _backup(args, settings_from), **_NO_SERVE_FLAGS)

    back = commands.add_parser(
        "restore", help="put a backup from DIR back (refused while serve runs)"
    )
    back.add_argument("dir", type=Path, metavar="DIR", help="a directory made by backup")
    _data_flags(back)
    back.set_defaults(run=lambda args: _restore(args, settings_from), **_NO_SERVE_FLAGS)

    unit = commands.add_parser(
        "install-service", help="write a systemd unit that runs serve with these options"
    )
    _data_flags(unit)
    unit.add_argument("--http", metavar="HOST:PORT", help="passed to serve (e.g. 0.0.0.0:8080)")
    unit.add_argument("--mqtt-url", help="passed to serve")
    unit.add_argument("--mqtt-listen", metavar="HOST:PORT", help="passed to serve")
    unit.add_argument("--role", choices=ROLES, default="all", help="passed to serve")
    unit.add_argument("--user", default=None, help="account to run as (default: you)")
    unit.add_argument(
        "--output", type=Path, default=DEFAULT_PATH, help=f"where to write it ({DEFAULT_PATH})"
    )
    unit.add_argument("--force", action="store_true", help="replace an existing unit file")
    unit.set_defaults(run=lambda args: _install_service(args, settings_from), demo=False)


def _data_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="TOML configuration file")
    parser.add_argument("--data-dir", type=Path, help="the server's data directory")


def _backup(args: argparse.Namespace, settings_from: SettingsFrom) -> int:
    settings = settings_from(args)
    data_dir = settings.store.data_dir
    try:
        copied = backup(data_dir, args.dir)
    except BackupError as exc:
        raise ConfigError(str(exc)) from None
    for item in copied:
        print(f"{item.name}\t{item.size} bytes")
    print(f"backed up {len(copied)} databases of {data_dir} into {args.dir}")
    if settings.store.backend == "influxdb":
        print("the series themselves are in InfluxDB: back them up with `influx backup`")
    if settings.cluster.postgres_dsn is not None:
        print("the registry and accounts are in PostgreSQL: back them up with `pg_dump`")
    return 0


def _restore(args: argparse.Namespace, settings_from: SettingsFrom) -> int:
    data_dir = settings_from(args).store.data_dir
    try:
        copied, kept = restore(args.dir, data_dir)
    except BackupError as exc:
        raise ConfigError(str(exc)) from None
    print(f"restored {len(copied)} databases from {args.dir} into {data_dir}")
    if kept is not None:
        print(f"the databases they replaced are kept in {kept}")
    return 0


def _install_service(args: argparse.Namespace, settings_from: SettingsFrom) -> int:
    settings = settings_from(args)  # checks the flags as serve would
    check_role(settings, args.role)
    if args.output.exists() and not args.force:
        raise ConfigError(f"{args.output} exists; add --force to replace it")
    serve_args: list[str] = []
    if args.config:
        serve_args += ["--config", str(args.config.resolve())]
    for flag in ("http", "mqtt_url", "mqtt_listen"):
        if getattr(args, flag):
            serve_args += [f"--{flag.replace('_', '-')}", getattr(args, flag)]
    if args.role != "all":
        serve_args += ["--role", args.role]
    options = UnitOptions(
        executable=_executable(),
        user=args.user or getpass.getuser(),
        data_dir=settings.store.data_dir.resolve(),
        serve_args=serve_args,
    )
    _prepare_data_dir(options.data_dir, options.user)
    try:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(unit_text(options), "utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot write {args.output} ({os.strerror(exc.errno or 0) or exc}); run as root, "
            "or choose another file with --output"
        ) from None
    print(f"wrote {args.output}")
    if args.output.parent == DEFAULT_PATH.parent:
        print(
            "start it now and at every boot: systemctl daemon-reload && "
            f"systemctl enable --now {args.output.name}"
        )
    return 0


def _prepare_data_dir(data_dir: Path, user: str) -> None:
    """The unit may write only there, so it must exist before the first start (and belong to
    the unit's user when we are root and can say so)."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0 and user != "root":
            shutil.chown(data_dir, user)
    except LookupError:
        raise ConfigError(
            f"there is no user {user!r} to run the service as: make one "
            f"(useradd --system {user}) or choose another with --user"
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot prepare the data directory {data_dir} ({exc})") from None


def _executable() -> list[str]:
    """This installation's `village-brain`, by absolute path: systemd has no PATH of ours."""
    script = Path(sys.executable).parent / "village-brain"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "village_brain.cli"]
