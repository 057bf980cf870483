"""A village server loads no driver of a setup it does not use."""

from __future__ import annotations

import subprocess
import sys

# What `serve` imports for a village: one process, SQLite, Mosquitto.
_SERVE = """
import sys
import village_brain.api.app, village_brain.broker, village_brain.cli, village_brain.service
print(" ".join(m for m in ("psycopg", "pika", "amqtt") if m in sys.modules))
"""


def test_a_village_server_imports_neither_the_county_drivers_nor_the_fallback_broker():
    # PostgreSQL's and RabbitMQ's drivers and amqtt were 50 MB of a 150 MB server.
    loaded = subprocess.run(
        [sys.executable, "-c", _SERVE], capture_output=True, text=True, check=True
    ).stdout.split()
    assert loaded == []
