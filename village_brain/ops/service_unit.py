"""The systemd unit that runs `village-brain serve` at boot, written from the options given.

The unit stops the server with SIGTERM and gives it longer than a stop can take (ingest's
30 s drain and the HTTP grace) before systemd would kill it, so a `systemctl stop` never loses
what the broker handed over. The data directory is the one place it may write.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

UNIT_NAME = "village-brain.service"
DEFAULT_PATH = Path("/etc/systemd/system") / UNIT_NAME


def stop_timeout_s() -> int:
    """Longer than the slowest orderly stop: the HTTP grace, then ingest's drain."""
    # Imported here: the command line builds its parser without loading the whole service.
    from village_brain.service import DRAIN_TIMEOUT_S
    from village_brain.serving import GRACE_S

    return int(DRAIN_TIMEOUT_S + GRACE_S + 15)


@dataclass(frozen=True)
class UnitOptions:
    executable: list[str]  # the command that runs village-brain, e.g. [".../bin/village-brain"]
    user: str
    data_dir: Path
    serve_args: list[str]  # what follows `serve`: --http, --config, --mqtt-url ...


def unit_text(options: UnitOptions) -> str:
    command = [*options.executable, "serve", "--data-dir", str(options.data_dir)]
    command += options.serve_args
    return "\n".join(
        [
            "# Written by `village-brain install-service`; run it again to change the options.",
            "[Unit]",
            "Description=Village Brain: sensors, store, alerts and dashboard",
            "Wants=network-online.target",
            "After=network-online.target",
            "",
            "[Service]",
            "Type=simple",
            f"User={options.user}",
            f"ExecStart={' '.join(quote(arg) for arg in command)}",
            "Environment=PYTHONUNBUFFERED=1",
            f"WorkingDirectory={quote(str(options.data_dir))}",
            "KillSignal=SIGTERM",
            f"TimeoutStopSec={stop_timeout_s()}",
            "Restart=on-failure",
            "RestartSec=5",
            "NoNewPrivileges=yes",
            "PrivateTmp=yes",
            "ProtectSystem=strict",
            "ProtectHome=read-only",
            f"ReadWritePaths={quote(str(options.data_dir))}",
            "",
            "[Install]",
            "WantedBy=multi-user.target",
            "",
        ]
    )


def quote(arg: str) -> str:
    """One word of a systemd command line: specifiers (%) and variables ($) taken literally,
    and quoted when it holds spaces or quotes."""
    arg = arg.replace("%", "%%").replace("$", "$$")
    if arg and not any(ch in arg for ch in " \t\"'\\;"):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'
