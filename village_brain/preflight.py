"""Checks of every file and directory a user hands us, run before anything starts.

`serve` and `config` run the same checks, so `village-brain config` answers "will this
start?" without starting anything. Each problem names the file and what to fix; all of them
are reported at once, so a user fixes a whole configuration in one round.
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from village_brain.core.catalog import Catalog, load_catalog
from village_brain.core.config import ConfigError, Settings
from village_brain.core.devices import Device, load_devices_file
from village_brain.ingest.sources.router import build_sources

T = TypeVar("T")


def check_inputs(settings: Settings) -> None:
    """Raise ConfigError listing every unusable file or directory in `settings`."""
    problems: list[str] = []
    data_problem = data_dir_problem(settings.store.data_dir)
    if data_problem:
        problems.append(data_problem)
    catalog = _collect(problems, lambda: load_catalog(settings.store.catalog_file))
    if catalog is not None:
        devices = _collect(problems, lambda: load_devices(settings, catalog))
        _collect(problems, lambda: _load_rules(settings, catalog, devices))
        _collect(problems, lambda: build_sources(settings.ingest.sources, catalog))
    if problems:
        raise ConfigError("\n".join(["the configuration has problems:", *problems]))


def load_devices(settings: Settings, catalog: Catalog) -> list[Device]:
    """The devices file's devices, or none when no file is set."""
    if settings.store.devices_file is None:
        return []
    return load_devices_file(settings.store.devices_file, set(catalog.types))


def data_dir_problem(data_dir: Path) -> str | None:
    """Why the store cannot keep its files in `data_dir`, or None when it can."""
    fix = "set store.data_dir (or --data-dir) to a directory this user can write"
    # A check must not leave anything behind, so a directory still to be made is judged by
    # the nearest one that exists: the store will create the rest there.
    existing = data_dir
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    try:
        if not existing.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "not a directory", str(existing))
        probe = existing / f".write-check-{secrets.token_hex(4)}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        return f"  store.data_dir {data_dir}: cannot write there ({_os_reason(exc)}); {fix}"
    return None


def _load_rules(settings: Settings, catalog: Catalog, devices: list[Device] | None) -> object:
    if not settings.alerts.enabled:
        return None
    # Imported here: the alerts package is not needed when alerts are off.
    from village_brain.alerts.rules import Known, load_rules

    # A devices file says which devices there are, so a rule naming another is a typo.
    # Without one, devices register on their first message and cannot be checked here.
    known = None
    if settings.store.devices_file is not None and devices is not None:
        known = Known({d.id: (d.village, d.kind, d.place) for d in devices})
    return load_rules(settings.alerts.rules_file, catalog, known)


def _collect(problems: list[str], load: Callable[[], T]) -> T | None:
    """Run `load`; a problem it raises is noted (with its own wording) instead of raised."""
    try:
        return load()
    except ValueError as exc:  # the loaders' errors name their file and entry already
        problems.append(f"  {exc}")
    return None


def _os_reason(exc: OSError) -> str:
    return os.strerror(exc.errno) if exc.errno else str(exc)
