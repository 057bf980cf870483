"""Device clients and configurable brokers for the security suite."""

from __future__ import annotations

import getpass
import subprocess
import threading
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from village_brain.broker.ports import wait_until_accepting
from village_brain.broker.settings import load_recommended_settings, render_embedded_config

from support.mosquitto import ensure_mosquitto
from support.ports import free_port
from support.waiting import wait_until

HOST = "127.0.0.1"


class Device:
    """A device's MQTT client, optionally with credentials, TLS and a Last Will; publishes at
    QoS 1 and records what it receives and each time the broker drops it."""

    def __init__(
        self,
        port: int,
        client_id: str,
        username: str | None = None,
        password: str | None = None,
        ca_file: Path | None = None,
        will: tuple[str, str] | None = None,
    ) -> None:
        # A device the broker drops stays dropped, so a test sees every disconnection.
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5,
            reconnect_on_failure=False,
        )
        self.client.max_queued_messages_set(0)
        self.client.max_inflight_messages_set(1000)
        if username is not None:
            self.client.username_pw_set(username, password)
        if ca_file is not None:
            self.client.tls_set(ca_certs=str(ca_file))
        if will is not None:
            self.client.will_set(*will, qos=1)
        self.connack = threading.Event()
        self.refused: str | None = None
        self.disconnects: list[str] = []
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda _c, _u, _f, reason, _p: self.disconnects.append(
            str(reason)
        )
        self.client.on_publish = self._on_publish
        self.client.on_message = self._on_message
        self.received: list[str] = []
        self.payloads: list[tuple[str, str]] = []
        self._acks: dict[int, str] = {}
        self.client.connect(HOST, port)
        self.client.loop_start()
        self.connack.wait(5)

    def _on_connect(self, _c: object, _u: object, _f: object, reason: Any, _p: object) -> None:
        self.refused = str(reason) if reason.is_failure else None
        self.connack.set()

    def _on_message(self, _c: object, _u: object, message: mqtt.MQTTMessage) -> None:
        self.received.append(message.topic)
        self.payloads.append((message.topic, message.payload.decode()))

    def _on_publish(self, _c: object, _u: object, mid: int, reason: Any, _p: object) -> None:
        self._acks[mid] = str(reason)

    def publish(self, topic: str, payload: str | bytes) -> str:
        """Publish and return the broker's PUBACK reason ("Success" or why not)."""
        info = self.client.publish(topic, payload, qos=1)
        info.wait_for_publish(timeout=10)
        return wait_until(lambda: self._acks.get(info.mid), what="the PUBACK")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class ConfiguredMosquitto:
    """Mosquitto with the settings of `config` (by default the recommended ones, anonymous
    clients refused) on a free port, plus lines of our own after its listener."""

    def __init__(
        self,
        state_dir: Path,
        extra_global: list[str],
        extra_listener: list[str],
        config: Path | None = None,
    ):
        state_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port(HOST)
        if config is not None:
            settings = load_recommended_settings(config)
        else:
            settings = [s for s in load_recommended_settings() if s[0] != "allow_anonymous"]
        text = render_embedded_config(settings, HOST, self.port, state_dir, _user())
        # Listener options (TLS files) apply to the listener line just above them.
        config = state_dir / "mosquitto.conf"
        config.write_text(text + "\n".join(extra_global + extra_listener) + "\n")
        self.log_path = state_dir / "mosquitto.log"
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [str(ensure_mosquitto()), "-c", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        if not wait_until_accepting(HOST, self.port, 10, lambda: self.process.poll() is None):
            self.stop()
            raise AssertionError(f"mosquitto did not start:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self._log.close()


def _user() -> str:
    return getpass.getuser()
