"""Private VictoriaMetrics servers for tests: they accept InfluxDB's /api/v2/write.

Started from Debian's `victoria-metrics` package (installed when missing) on a free port
with a temporary storage directory; it is configured by flags, recorded in a file beside
the data so a failing run can be repeated by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from support.influx import ServerProcess, ensure_package


class VictoriaServer(ServerProcess):
    ready_path = "/health"

    def __init__(self, state_dir: Path, extra_flags: tuple[str, ...] = ()) -> None:
        super().__init__(state_dir)
        self.binary = ensure_package("victoria-metrics", "victoria-metrics")
        self.flags = [
            f"-storageDataPath={state_dir / 'data'}",
            f"-httpListenAddr={self.host}:{self.port}",
            "-retentionPeriod=100y",
            "-loggerLevel=ERROR",
            # Show just-written points at once rather than after the usual 30 s.
            "-search.latencyOffset=0s",
            "-search.disableCache",
            *extra_flags,
        ]
        state_dir.mkdir(parents=True, exist_ok=True)
        (state_dir / "flags").write_text("\n".join(self.flags) + "\n", encoding="utf-8")

    def command(self) -> list[str]:
        return [str(self.binary), *self.flags]

    def export(self, match: str) -> list[dict]:
        """Every stored series matching a selector: {metric: labels, values, timestamps}."""
        # Move buffered rows into searchable storage first, so fresh points show sooner.
        httpx.get(self.url + "/internal/force_flush", timeout=10).raise_for_status()
        response = httpx.get(self.url + "/api/v1/export", params={"match[]": match}, timeout=10)
        response.raise_for_status()
        return [json.loads(row) for row in response.text.splitlines() if row.strip()]


def start_victoria(state_dir: Path, extra_flags: tuple[str, ...] = ()) -> VictoriaServer:
    server = VictoriaServer(state_dir, extra_flags)
    server.start()
    return server
