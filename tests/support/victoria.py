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

    def __init__(
        self, state_dir: Path, extra_flags: tuple[str, ...] = (), *, as_shipped: bool = False
    ) -> None:
        """`as_shipped`: without the flags that show just-written points to any query at once
        (rather than after the usual 30 s), as a server someone else set up would run."""
        super().__init__(state_dir)
        self.binary = ensure_package("victoria-metrics", "victoria-metrics")
        at_once = () if as_shipped else ("-search.latencyOffset=0s", "-search.disableCache")
        self.flags = [
            f"-storageDataPath={state_dir / 'data'}",
            f"-httpListenAddr={self.host}:{self.port}",
            "-retentionPeriod=100y",
            "-loggerLevel=ERROR",
            *at_once,
            *extra_flags,
        ]
        state_dir.mkdir(parents=True, exist_ok=True)
        (state_dir / "flags").write_text("\n".join(self.flags) + "\n", encoding="utf-8")

    def command(self) -> list[str]:
        return [str(self.binary), *self.flags]

    def flush(self) -> None:
        """Make every point written so far searchable now rather than within a second."""
        httpx.get(self.url + "/internal/force_flush", timeout=10).raise_for_status()

    def export(self, match: str) -> list[dict]:
        """Every stored series matching a selector: {metric: labels, values, timestamps}."""
        self.flush()
        response = httpx.get(self.url + "/api/v1/export", params={"match[]": match}, timeout=10)
        response.raise_for_status()
        return [json.loads(row) for row in response.text.splitlines() if row.strip()]


def start_victoria(
    state_dir: Path, extra_flags: tuple[str, ...] = (), *, as_shipped: bool = False
) -> VictoriaServer:
    server = VictoriaServer(state_dir, extra_flags, as_shipped=as_shipped)
    server.start()
    return server
