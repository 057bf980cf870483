"""The broker `village-brain serve` runs itself when no broker URL is configured.

Mosquitto is preferred whenever it is installed, because it keeps sessions and
queued messages on disk and honours MQTT 5 flow control. amqtt, a pure-Python
broker, is the fallback so a first try works with nothing else installed; it
promises much less, and `guarantees` says so in the log.
"""

from __future__ import annotations

import errno
import logging
from pathlib import Path
from types import TracebackType
from typing import Protocol

from village_brain.broker.device_address import devices_line, interface_addresses
from village_brain.broker.mosquitto import MosquittoProcess, find_mosquitto
from village_brain.broker.port_holder import port_holder
from village_brain.broker.ports import connectable_host, listen_problem, pick_free_port
from village_brain.broker.settings import (
    Setting,
    client_expiration_seconds,
    load_recommended_settings,
    setting,
)
from village_brain.core.config import ConfigError
from village_brain.core.hostport import join_host_port

logger = logging.getLogger(__name__)

AMQTT_GUARANTEES = (
    "amqtt (fallback broker) queues QoS 1 messages for our session while ingest is away, "
    "but only in memory: a broker restart loses them, and a message that was sent but not "
    "acknowledged (ingest crashed before committing, or took over 5 s to ack) is dropped "
    "rather than sent again; install Mosquitto for at-least-once delivery."
)


_LISTEN_FLAG = "--mqtt-listen HOST:PORT (setting mqtt.listen)"


class ListenAddressError(ConfigError):
    """The embedded broker cannot listen where it was told to; the message says what to do."""


class _Runner(Protocol):
    def stop(self, timeout: float = ...) -> None: ...


class EmbeddedBroker:
    """A running embedded broker; stop it with stop() or by leaving a `with` block."""

    def __init__(
        self, runner: _Runner, url: str, kind: str, mqtt_version: str, guarantees: str
    ) -> None:
        self._runner = runner
        self.url = url
        self.kind = kind
        self.mqtt_version = mqtt_version
        self.guarantees = guarantees

    def stop(self) -> None:
        self._runner.stop()
        logger.info("embedded %s broker on %s stopped", self.kind, self.url)

    def __enter__(self) -> EmbeddedBroker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"EmbeddedBroker(kind={self.kind!r}, url={self.url!r})"


def start_embedded_broker(
    data_dir: Path,
    host: str = "127.0.0.1",
    port: int = 1883,
    *,
    free_port_if_taken: bool = False,
) -> EmbeddedBroker:
    """Start Mosquitto (if installed) or amqtt listening on host:port.

    Devices are configured with one address, so a port in use is an error (ListenAddressError)
    rather than a different port at every start; `free_port_if_taken` (the demo, whose devices
    are simulated) moves to a free port instead and says so.
    """
    port = _usable_port(host, port, free_port_if_taken)
    settings = load_recommended_settings()
    binary = find_mosquitto()
    if binary is not None:
        broker = _start_mosquitto(binary, settings, data_dir, host, port)
    else:
        logger.warning("mosquitto is not installed; falling back to the amqtt broker")
        broker = _start_amqtt(settings, host, port)
    logger.info("%s", devices_line(host, port, interface_addresses()))
    return broker


def _usable_port(host: str, port: int, free_port_if_taken: bool) -> int:
    problem = listen_problem(host, port)
    if problem is None:
        return port
    where = join_host_port(host, port)
    if problem.errno != errno.EADDRINUSE:
        reason = problem.strerror or str(problem)
        raise ListenAddressError(
            f"the embedded broker cannot listen on {where} ({reason}); is {host} an address "
            f"of this machine? Choose another address with {_LISTEN_FLAG}"
        )
    holder = port_holder(port)
    by = f" by {holder}" if holder else ""
    if free_port_if_taken:
        free = pick_free_port(host)
        logger.warning(
            "port %d on %s is in use%s; for the demo the embedded broker listens on port %d "
            "instead",
            port,
            host,
            by,
            free,
        )
        return free
    raise ListenAddressError(
        f"the embedded broker cannot listen on {where}: port {port} is in use{by}. If that is "
        f"a broker, use it with --mqtt-url mqtt://{join_host_port(connectable_host(host), port)}; "
        f"otherwise stop it, or choose another address with {_LISTEN_FLAG}"
    )


def _start_mosquitto(
    binary: Path, settings: list[Setting], data_dir: Path, host: str, port: int
) -> EmbeddedBroker:
    process = MosquittoProcess(data_dir / "broker", host, port, binary=binary, settings=settings)
    process.start()
    broker = EmbeddedBroker(
        process, process.url, "mosquitto", "5", _mosquitto_guarantees(settings, process)
    )
    logger.info("embedded broker: %s", broker.guarantees)
    return broker


def _mosquitto_guarantees(settings: list[Setting], process: MosquittoProcess) -> str:
    queued = setting(settings, "max_queued_messages") or "1000"
    autosave = setting(settings, "autosave_interval") or "1800"
    return (
        f"Mosquitto keeps our session and up to {queued} queued QoS 1 messages while "
        f"ingest is away, sends again any message we did not acknowledge, and saves them "
        f"in {process.state_dir} on shutdown and every {autosave} s, so only a power cut "
        f"can lose the last {autosave} s of queued messages."
    )


def _start_amqtt(settings: list[Setting], host: str, port: int) -> EmbeddedBroker:
    # Imported only when Mosquitto is missing: amqtt is 17 MB of memory.
    from village_brain.broker.amqtt_thread import AmqttThread

    runner = AmqttThread(host, port, session_expiry_seconds=client_expiration_seconds(settings))
    runner.start()
    broker = EmbeddedBroker(runner, runner.url, "amqtt", "3.1.1", AMQTT_GUARANTEES)
    logger.warning("embedded broker: %s", broker.guarantees)
    return broker
