"""Where the registry (and the device tokens beside it) live under these settings: the data
directory's SQLite file, or the shared PostgreSQL database when `[cluster] postgres_dsn` is
set."""

from __future__ import annotations

from village_brain.core.config import Settings
from village_brain.store.device_tokens import DeviceTokenStore
from village_brain.store.registry import RegistryStore

REGISTRY_FILE = "registry.sqlite3"


def shared_dsn(settings: Settings) -> str | None:
    """The shared PostgreSQL database's DSN, when the state is shared."""
    dsn = settings.cluster.postgres_dsn
    return dsn.get_secret_value() if dsn is not None else None


def open_registry(settings: Settings) -> RegistryStore:
    return RegistryStore(
        settings.store.data_dir / REGISTRY_FILE,
        settings.store.sqlite_synchronous,
        postgres_dsn=shared_dsn(settings),
    )


def open_device_tokens(settings: Settings) -> DeviceTokenStore:
    """HTTP ingest's device tokens, beside the registry (in its file, or shared with it)."""
    return DeviceTokenStore(
        settings.store.data_dir / REGISTRY_FILE,
        settings.store.sqlite_synchronous,
        postgres_dsn=shared_dsn(settings),
    )
