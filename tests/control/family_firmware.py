"""Devices of other families on a real broker, answering commands as their firmware (or
network server) documents — or not answering at all, as real ones sometimes do.

`mode` is how each behaves: "obey" (the default), "fail" (it refuses with the error its
firmware gives) or "silent" (it hears the command and says nothing).
"""

from __future__ import annotations

import json
import threading
import time

import paho.mqtt.client as mqtt

from village_brain.ingest.mqtt_client import split_mqtt_url


class FamilyDevice:
    """Subscribes to `topics`; `on_command(topic, payload)` publishes whatever it answers."""

    def __init__(self, url: str, topics: list[str], mode: str = "obey") -> None:
        self.mode = mode
        self.heard: list[tuple[str, bytes]] = []
        self._network_thread: int | None = None
        host, port = split_mqtt_url(url)
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        self.client.on_message = lambda _c, _u, msg: self._heard(msg.topic, msg.payload)
        subscribed = threading.Event()
        pending = {"n": len(topics)}

        def on_subscribe(*_args: object) -> None:
            pending["n"] -= 1
            if pending["n"] == 0:
                subscribed.set()

        self.client.on_subscribe = on_subscribe
        self.client.connect(host, port)
        self.client.loop_start()
        for topic in topics:
            self.client.subscribe(topic, qos=1)
        assert subscribed.wait(10), "the broker did not confirm the subscriptions"

    def _heard(self, topic: str, payload: bytes) -> None:
        self._network_thread = threading.get_ident()
        self.heard.append((topic, payload))
        if self.mode != "silent":
            self.on_command(topic, payload)

    def on_command(self, topic: str, payload: bytes) -> None:
        raise NotImplementedError

    def publish(self, topic: str, payload: str | bytes) -> None:
        info = self.client.publish(topic, payload, qos=1)
        # An answer is published from paho's own thread, which would have to read the PUBACK
        # it waits for: waiting there only stalls the device for the whole timeout.
        if threading.get_ident() != self._network_thread:
            info.wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class EspHomeNode(FamilyDevice):
    """An ESPHome node with MQTT: takes `<prefix>/<component>/<id>/command` and publishes the
    entity's new state on its state topic (ESPHome sends no other answer)."""

    def __init__(self, url: str, prefix: str, mode: str = "obey") -> None:
        self.prefix = prefix
        topics = [f"{prefix}/+/+/command", f"{prefix}/cover/+/position/command"]
        super().__init__(url, topics, mode)

    def on_command(self, topic: str, payload: bytes) -> None:
        levels = topic[len(self.prefix) + 1 :].split("/")
        component, object_id = levels[0], levels[1]
        base = f"{self.prefix}/{component}/{object_id}"
        if component == "switch" and payload in (b"ON", b"OFF"):
            self.publish(f"{base}/state", payload)
        elif component == "light":
            state = json.loads(payload)["state"]
            body = {"state": state, "brightness": 255, "color_mode": "brightness"}
            self.publish(f"{base}/state", json.dumps(body))
        elif component == "cover" and levels[2:] == ["position", "command"]:
            position = float(payload)
            self.publish(f"{base}/position/state", f"{position:.0f}")
            self.publish(f"{base}/state", "closed" if position == 0 else "open")
        # Anything else an ESPHome node ignores, with a warning in its own log only.


class ShellyPlus(FamilyDevice):
    """A Shelly Gen2 relay: RPC requests on `<prefix>/rpc`; the response frame goes to
    `<src>/rpc`, then the status change as NotifyStatus on `<prefix>/events/rpc`. In "fail"
    mode its switch has another id than asked, so Switch.Set gets Shelly's not-found error."""

    def __init__(self, url: str, prefix: str, mode: str = "obey") -> None:
        self.prefix = prefix
        self.device_id = f"shellyplus1-{abs(hash(prefix)) % 16**12:012x}"
        self.output = False
        super().__init__(url, [f"{prefix}/rpc"], mode)

    def on_command(self, topic: str, payload: bytes) -> None:
        request = json.loads(payload)
        frame: dict[str, object] = {"id": request["id"], "src": self.device_id}
        frame["dst"] = request["src"]
        params = request.get("params", {})
        if request["method"] != "Switch.Set" or self.mode == "fail":
            frame["error"] = {
                "code": -105,
                "message": f"Argument 'id', value {params.get('id')} not found!",
            }
            self.publish(f"{request['src']}/rpc", json.dumps(frame))
            return
        frame["result"] = {"was_on": self.output}
        self.output = bool(params["on"])
        self.publish(f"{request['src']}/rpc", json.dumps(frame))
        notify = {
            "src": self.device_id,
            "dst": f"{self.prefix}/events",
            "method": "NotifyStatus",
            "params": {"ts": time.time(), "switch:0": {"id": 0, "output": self.output}},
        }
        self.publish(f"{self.prefix}/events/rpc", json.dumps(notify))


class ChirpStackNetwork(FamilyDevice):
    """ChirpStack v4's MQTT integration with one Class A device: an enqueued downlink is sent
    at the device's next uplink (a `txack` event once a gateway sent it), and a confirmed one
    acknowledged by the device (an `ack` event, `acknowledged` true). "fail": the device
    never acknowledges (acknowledged false); "no_ack": the gateway sent it and ChirpStack
    has not yet given up waiting for the ack; "silent": the device is never heard again."""

    def __init__(self, url: str, application_id: str, dev_eui: str, mode: str = "obey") -> None:
        self.application_id = application_id
        self.dev_eui = dev_eui
        self.f_cnt_down = 0
        topic = f"application/{application_id}/device/{dev_eui}/command/down"
        super().__init__(url, [topic], mode)

    def device_info(self) -> dict[str, object]:
        return {
            "tenantId": "52f14cd4-c6f1-4fbd-8f87-4025e1d49242",
            "applicationId": self.application_id,
            "applicationName": "village-actuators",
            "deviceProfileId": "3a0a6b4e-98a1-4f4c-8f5b-2a5d4d2d4a51",
            "deviceProfileName": "lamp-controller",
            "deviceName": "lamp-lora-1",
            "devEui": self.dev_eui,
        }

    def event(self, kind: str, body: dict[str, object]) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".000000000+00:00"
        body = {"time": stamp, "deviceInfo": self.device_info(), **body}
        topic = f"application/{self.application_id}/device/{self.dev_eui}/event/{kind}"
        self.publish(topic, json.dumps(body))

    def on_command(self, topic: str, payload: bytes) -> None:
        item = json.loads(payload)
        self.f_cnt_down += 1
        tx = {"frequency": 868100000, "power": 14, "modulation": {}}
        self.event(
            "txack",
            {
                "downlinkId": 1840000000 + self.f_cnt_down,
                "queueItemId": item["id"],
                "fCntDown": self.f_cnt_down,
                "gatewayId": "0016c001ff10a235",
                "txInfo": tx,
            },
        )
        if not item["confirmed"] or self.mode == "no_ack":
            return
        self.event(
            "ack",
            {
                "deduplicationId": "6a5d3e9c-0d8e-4b7e-9f6b-5c9e1d0a7b21",
                "queueItemId": item["id"],
                "acknowledged": self.mode != "fail",
                "fCntDown": self.f_cnt_down,
            },
        )


class AlinkDevice(FamilyDevice):
    """A device made for Aliyun IoT: takes property set and service calls under
    `/sys/{productKey}/{deviceName}/thing/service/`, replies on the topic plus `_reply`, and
    posts the property it set. "fail": it replies with a code other than 200."""

    def __init__(self, url: str, product_key: str, device_name: str, mode: str = "obey") -> None:
        self.base = f"/sys/{product_key}/{device_name}"
        topics = [f"{self.base}/thing/service/property/set", f"{self.base}/thing/service/+"]
        super().__init__(url, topics, mode)

    def _heard(self, topic: str, payload: bytes) -> None:
        if not topic.endswith("_reply"):  # its own replies come back through `service/+`
            super()._heard(topic, payload)

    def on_command(self, topic: str, payload: bytes) -> None:
        request = json.loads(payload)
        if self.mode == "fail":
            reply = {"code": 6813, "message": "device is busy", "id": request["id"]}
        else:
            reply = {"code": 200, "data": {}, "id": request["id"], "message": "success"}
        self.publish(f"{topic}_reply", json.dumps({**reply, "version": "1.0"}))
        if self.mode != "fail" and topic.endswith("/property/set"):
            post = {"id": "1", "version": "1.0", "params": request["params"]}
            post["method"] = "thing.event.property.post"
            self.publish(f"{self.base}/thing/event/property/post", json.dumps(post))
