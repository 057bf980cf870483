"""`serve --role`: one process doing everything, or ingest workers and API processes apart.

- `all` (the default): receiver, writer, alerts, HTTP API and dashboard in one process.
- `ingest`: receiver, writer and alerts; over HTTP only /healthz, for probes and for which
  partitions the worker receives. Its committed batches go to the API processes' live feeds
  through the shared database (cluster/live_feed.py).
- `api`: the HTTP API and dashboard, no receiver and no writer: devices and presence from the
  shared registry in PostgreSQL, series from the shared series store, alerts from the shared
  alert store (staff act on them there; the workers evaluate and send), the live feed from
  the other processes' notifications.

The split roles share state only through `[cluster] postgres_dsn` and a series store of
their own (`[store] backend = "influxdb"`, InfluxDB or VictoriaMetrics); a role that could
not see the others' work is refused before anything starts.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import TYPE_CHECKING, Literal

from village_brain.core.config import ConfigError, Settings
from village_brain.store.registry_open import shared_dsn

if TYPE_CHECKING:
    from village_brain.core.bus import Bus
    from village_brain.ingest.writer import BatchWriter

Role = Literal["all", "ingest", "api"]
ROLES: tuple[Role, ...] = ("all", "ingest", "api")


def check_role(settings: Settings, role: Role) -> None:
    """Raise ConfigError saying what to set when `role` cannot work with `settings`."""
    if role == "all":
        return
    problems = []
    if settings.cluster.postgres_dsn is None:
        problems.append(
            "[cluster] postgres_dsn is unset: the registry (devices, presence) and the live "
            "feed must be in a PostgreSQL database every process reaches"
        )
    if settings.store.backend == "sqlite":
        problems.append(
            '[store] backend is "sqlite", a file of this process: set backend = "influxdb" '
            "(InfluxDB or VictoriaMetrics) so workers write where API processes read"
        )
    if settings.demo:
        problems.append("--demo runs a whole village in one process: use --role all")
    if problems:
        lines = [f"--role {role} shares its work with other processes, and cannot here:"]
        raise ConfigError("\n".join([*lines, *(f"  - {p}" for p in problems)]))


def start_live_feed(
    stack: ExitStack, settings: Settings, role: Role, bus: Bus, writer: BatchWriter | None
) -> None:
    """With a shared database: a process that commits sends its batches, and one that serves
    the dashboard republishes the others' on its bus (its own are there already)."""
    dsn = shared_dsn(settings)
    if dsn is None:
        return
    # Here, not at the top: the embedded setup never loads the PostgreSQL driver.
    from village_brain.cluster.live_feed import LiveFeedListener, LiveFeedSender, new_origin

    origin = new_origin()
    # Every process sends its alert changes (an api process's are staff actions); one that
    # commits sends its batches too.
    sender = LiveFeedSender(dsn, origin)
    if writer is not None:
        writer.listeners.append(sender.on_batch)
    sender.start()
    stack.callback(sender.stop)
    # Unsubscribed before the sender stops.
    stack.callback(bus.subscribe(sender.on_bus, lambda kind: kind == "alert"))
    if role != "ingest":
        listener = LiveFeedListener(dsn, bus, origin)
        listener.start()
        stack.callback(listener.stop)
