"""`village-brain amqp setup`: declare the partition topology before any worker runs.

Workers declare it themselves whenever they connect; declaring it ahead lets devices publish
before the first worker starts without their messages being dropped as unroutable.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import pika

from village_brain.core.config import ConfigError, Settings
from village_brain.ingest import amqp_topology
from village_brain.ingest.amqp_receiver import CONNECTION_ERRORS
from village_brain.ingest.amqp_topology import Topology
from village_brain.ingest.topics import SUBSCRIPTIONS

SettingsFrom = Callable[[argparse.Namespace], Settings]


def add_amqp_command(commands: argparse._SubParsersAction, settings_from: SettingsFrom) -> None:
    amqp = commands.add_parser("amqp", help="RabbitMQ partitions of the AMQP input")
    actions = amqp.add_subparsers(required=True, metavar="ACTION")
    setup = actions.add_parser("setup", help="declare the hash exchange and partition queues")
    setup.add_argument("--config", type=Path, help="TOML configuration file")
    amqp.set_defaults(
        run=lambda args: _setup(settings_from(args)), mqtt_url=None, http=None, demo=False
    )


def _setup(settings: Settings) -> int:
    topology = Topology(settings.amqp.queue_prefix, settings.amqp.partitions)
    problems = []
    for url in settings.amqp.urls:
        try:
            connection = pika.BlockingConnection(pika.URLParameters(url))
        except CONNECTION_ERRORS as exc:
            problems.append(f"{url.rpartition('@')[2]}: {exc or type(exc).__name__}")
            continue
        try:
            # Sources' own topics are bound by the workers, which know what each one learnt.
            amqp_topology.declare(connection.channel(), topology, SUBSCRIPTIONS)
        finally:
            connection.close()
        print(
            f"declared {topology.hash_exchange} and {topology.partitions} quorum queues "
            f"{topology.queue(0)}..{topology.queue(topology.partitions - 1)}"
        )
        return 0
    raise ConfigError("no node in amqp.urls could be reached: " + "; ".join(problems))
