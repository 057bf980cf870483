"""Backups of a data directory: a consistent copy of every SQLite file, taken while it runs.

Each database is copied with SQLite's online backup API, which reads one consistent snapshot
while the server goes on writing (WAL readers never block the writer), so a backup never holds
half a batch. `backup.json` beside the copies lists them; `restore` reads it, refuses while a
server holds the data directory, and moves the files it replaces aside instead of deleting
them.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import msgspec

from village_brain.core.datadir_lock import ensure_not_served
from village_brain.core.timefmt import format_ms, now_ms

MANIFEST = "backup.json"
SET_ASIDE = "before-restore-"
PATTERN = "*.sqlite3"
# What SQLite keeps beside a database in WAL mode; it belongs to the file it sits beside.
_SIDE_FILES = ("-wal", "-shm")


class BackupError(ValueError):
    """A backup or restore that cannot be done; the message says why and what to do."""


class Manifest(msgspec.Struct):
    made_ms: int
    made: str
    files: list[str]  # paths relative to the data directory


@dataclass(frozen=True)
class Copied:
    name: str
    size: int


def sqlite_files(data_dir: Path) -> list[str]:
    """The data directory's databases, relative to it (not those set aside by a restore)."""
    found = (p.relative_to(data_dir) for p in data_dir.rglob(PATTERN) if p.is_file())
    return sorted(str(p) for p in found if not p.parts[0].startswith(SET_ASIDE))


def backup(data_dir: Path, target: Path) -> list[Copied]:
    """Copy every database of `data_dir` into `target` (missing or empty), running or not."""
    if not data_dir.is_dir():
        raise BackupError(f"there is no data directory {data_dir} to back up")
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(f"{target} is not an empty directory; name a new one for the backup")
    names = sqlite_files(data_dir)
    if not names:
        raise BackupError(f"{data_dir} holds no databases (*.sqlite3); is it the data directory?")
    copied = [Copied(name, _copy_db(data_dir / name, target / name)) for name in names]
    made = now_ms()
    manifest = Manifest(made, format_ms(made), names)
    (target / MANIFEST).write_bytes(msgspec.json.format(msgspec.json.encode(manifest)) + b"\n")
    return copied


def restore(source: Path, data_dir: Path) -> tuple[list[Copied], Path | None]:
    """Replace the data directory's databases with the backup's; the files replaced are kept
    in a `before-restore-…` directory (returned). Refused while a server uses `data_dir`."""
    manifest = read_manifest(source)
    lock = ensure_not_served(data_dir, "restore")  # held, so no server starts meanwhile
    try:
        kept = _set_aside(data_dir)
        copied = [Copied(name, _copy_db(source / name, data_dir / name)) for name in manifest.files]
    finally:
        lock.release()
    return copied, kept


def read_manifest(source: Path) -> Manifest:
    path = source / MANIFEST
    try:
        manifest = msgspec.json.decode(path.read_bytes(), type=Manifest)
    except FileNotFoundError:
        raise BackupError(f"{source} is not a backup: it has no {MANIFEST}") from None
    except msgspec.ValidationError as exc:
        raise BackupError(f"{path} is damaged ({exc}); use another backup") from None
    for name in manifest.files:
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise BackupError(f"{path} names {name!r}, outside the data directory")
    missing = [name for name in manifest.files if not (source / name).is_file()]
    if missing:
        raise BackupError(f"the backup {source} lacks {', '.join(missing)}; use another backup")
    return manifest


def _copy_db(source: Path, target: Path) -> int:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    with (
        closing(sqlite3.connect(f"{source.as_uri()}?mode=ro", uri=True)) as src,
        closing(sqlite3.connect(partial)) as dst,
    ):
        src.backup(dst)
        # A copy that stands alone: no WAL file to carry beside it.
        dst.execute("PRAGMA journal_mode=DELETE")
    partial.replace(target)
    return target.stat().st_size


def _set_aside(data_dir: Path) -> Path | None:
    """Move every database (with its WAL) into a new directory, so the restore replaces the
    whole state and the state it replaced can still be had back."""
    present = sqlite_files(data_dir)
    if not present:
        return None
    stamp = format_ms(now_ms()).replace(":", "").replace(".", "-")
    aside = data_dir / f"{SET_ASIDE}{stamp}"
    for name in present:
        path, dest = data_dir / name, aside / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", *_SIDE_FILES):
            side = path.with_name(path.name + suffix)
            if side.exists():
                side.replace(dest.with_name(dest.name + suffix))
    return aside
