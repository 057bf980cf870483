"""Make sure a Mosquitto binary exists, and start private instances of it for tests.

Tests never use a system-wide broker: each instance here has its own port and
its own persistence directory, and runs the project's own child-process runner.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from village_brain.broker.mosquitto import MosquittoProcess, find_mosquitto

from support.ports import free_port

_INSTALL_COMMAND = ["apt-get", "install", "-y", "--no-install-recommends", "mosquitto"]


class MosquittoUnavailable(RuntimeError):
    """Mosquitto is not installed and could not be installed here."""


def ensure_mosquitto() -> Path:
    """Return the mosquitto binary, installing Debian's package first when it is missing."""
    binary = find_mosquitto()
    if binary is not None:
        return binary
    if os.geteuid() != 0:
        raise MosquittoUnavailable(
            "the broker tests need Mosquitto; install it with: "
            "sudo apt-get install -y mosquitto (or your system's mosquitto package)"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(_INSTALL_COMMAND, env=env, check=False).returncode != 0:
        # A fresh CI image often has no package lists yet.
        subprocess.run(["apt-get", "update"], env=env, check=True)
        subprocess.run(_INSTALL_COMMAND, env=env, check=True)
    binary = find_mosquitto()
    if binary is None:
        raise MosquittoUnavailable("apt-get installed mosquitto but no binary was found")
    return binary


def start_private_mosquitto(state_dir: Path, host: str = "127.0.0.1") -> MosquittoProcess:
    """A running Mosquitto with the recommended settings on a free port."""
    process = MosquittoProcess(state_dir, host, free_port(host), binary=ensure_mosquitto())
    process.start()
    return process
