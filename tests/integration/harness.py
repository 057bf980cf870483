"""Helpers for end-to-end tests: waiting, a device-side publisher, a running service."""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from fastapi.testclient import TestClient

from village_brain.api.app import create_app
from village_brain.auth.roles import Role
from village_brain.core.config import load_settings
from village_brain.ingest.mqtt_client import split_mqtt_url
from village_brain.service import Service

_ids = itertools.count()


class Publisher:
    """A device's side of the broker: publishes and waits for the broker's acknowledgement."""

    def __init__(self, url: str) -> None:
        host, port = split_mqtt_url(url)
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"test-device-{next(_ids)}-{time.monotonic_ns()}",
            protocol=mqtt.MQTTv5,
        )
        self.client.max_queued_messages_set(0)
        self.client.max_inflight_messages_set(200)
        self.client.connect(host, port)
        self.client.loop_start()

    def publish(
        self, topic: str, payload: str | bytes, qos: int = 1, retain: bool = False, **props: Any
    ) -> None:
        properties = None
        if props:
            properties = mqtt.Properties(mqtt.PacketTypes.PUBLISH)
            for key, value in props.items():
                setattr(properties, key, value)
        info = self.client.publish(topic, payload, qos=qos, retain=retain, properties=properties)
        if qos:
            info.wait_for_publish(timeout=10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class RunningService:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.api = TestClient(create_app(service.api_context()))

    def stored(self) -> int:
        return self.service.stats.stored

    def latest(self, device: str) -> dict[str, float]:
        response = self.api.get(f"/api/v1/devices/{device}/latest")
        if response.status_code != 200:
            return {}
        return {r["sensor"]: r["value"] for r in response.json()["readings"]}

    def rejections(self, **params: Any) -> list[dict[str, Any]]:
        return self.api.get("/api/v1/ingest/rejections", params=params).json()


def make_service(
    url: str,
    data_dir: Path,
    client_id: str,
    mqtt_version: str = "5",
    anyone_as: Role | None = Role.ADMIN,
    **overrides: Any,
) -> Service:
    """A service whose API treats callers who show no credentials as `anyone_as`: suites about
    other things than who may act call it plainly; tests/auth passes None and logs in."""
    mqtt_settings = {"url": url, "client_id": client_id, **overrides.pop("mqtt", {})}
    store_settings = {"data_dir": data_dir, **overrides.pop("store", {})}
    settings = load_settings(mqtt=mqtt_settings, store=store_settings, **overrides)
    service = Service(settings, url, mqtt_version)
    service.auth = service.auth.letting_anyone(anyone_as)
    return service
