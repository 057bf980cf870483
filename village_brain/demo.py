"""`serve --demo`: a simulated village, registered, with days of history, then live."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from contextlib import ExitStack
from itertools import groupby

from village_brain.auth.demo import DEMO_ACCOUNT, open_demo_account
from village_brain.core.records import Reading
from village_brain.core.timefmt import now_ms
from village_brain.service import Service
from village_brain.simulator import SimDevice, Simulator, village_layout
from village_brain.simulator.backfill import backfill
from village_brain.store.registry import BatchRecord

log = logging.getLogger("village_brain")
# History the demo starts with: enough for the week chart to look lived in, quick to write.
HISTORY_DAYS = 3.0


def prepare(service: Service, devices: int) -> list[SimDevice]:
    """The simulated village, registered, with its last few days of history already stored;
    before the service starts, so the alert engine replays that history without its timer."""
    layout = village_layout(devices)
    service.register_devices(d.registry_entry() for d in layout)
    _backfill(service, layout)
    return layout


def start(
    stack: ExitStack, service: Service, url: str, version: str, layout: list[SimDevice]
) -> None:
    simulator = Simulator(url, layout, rate=max(2.0, len(layout) / 6), mqtt_version=version)
    simulator.start()
    stack.callback(simulator.stop)
    log.info("demo: simulating %d devices", len(layout))
    _announce_login(service)


def _backfill(service: Service, layout: list[SimDevice]) -> None:
    """The last few days of the simulated village, so charts and alert history are full."""

    def write(batch: Sequence[Reading]) -> None:
        service.series.write(batch)
        if service.alerts is None:
            return
        # One moment at a time, as ingest would: a lamp's state gates its power readings of
        # the same moment only.
        for _, moment in groupby(batch, key=lambda reading: reading.ts_ms):
            service.alerts.on_batch(list(moment), BatchRecord())

    began = time.monotonic()
    done = backfill(layout, service.catalog, write, now_ms(), days=HISTORY_DAYS)
    log.info(
        "demo: wrote %d readings of the last %g days in %.1f s",
        done.readings,
        HISTORY_DAYS,
        time.monotonic() - began,
    )


def _announce_login(service: Service) -> None:
    password = open_demo_account(service.accounts, now_ms())
    if password is not None:
        # To the terminal, not the log: the one place a demo's password is meant to be seen.
        print(
            f"demo: anyone may look; to acknowledge alerts, log in as {DEMO_ACCOUNT!r} "
            f"with password {password} (new at every start)",
            flush=True,
        )
