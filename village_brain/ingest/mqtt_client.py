"""The MQTT side of ingest: a persistent QoS 1 session whose messages we acknowledge ourselves.

paho runs our callbacks on its network thread, so `on_message` only stamps and hands the
message on; decoding and storing happen in the writer thread, or keepalives would starve.
"""

from __future__ import annotations

import logging
import ssl
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from village_brain.ingest.mqtt_wire import WireClient
from village_brain.ingest.pipeline import InboundMessage
from village_brain.ingest.sources.base import Reply
from village_brain.ingest.topics import SUBSCRIPTIONS

log = logging.getLogger(__name__)

UNREADABLE_TOPIC = "(topic is not UTF-8)"
# How long a stop waits for its DISCONNECT to be written before ending the network thread.
DISCONNECT_WAIT_S = 2.0
ACK_GRACE_S = 0.1


def split_mqtt_url(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    default_port = 8883 if uses_tls(url) else 1883
    return parts.hostname or "127.0.0.1", parts.port or default_port


def uses_tls(url: str) -> bool:
    return urlsplit(url).scheme == "mqtts"


class MqttReceiver:
    """Subscribes to every village topic and passes messages to `deliver`.

    Message ids are only meaningful on the connection that delivered them: after a reconnect
    the broker may reuse an id for another message. Each message therefore carries the
    connection generation it came on, and `ack` ignores ids from an older connection (the
    broker redelivers those messages, and the store's dedupe rule absorbs the repeat).

    The client is paho's with cheaper reads, acks and decoding (see mqtt_wire.py): the
    writer acknowledges a committed batch with one `ack_all`, sent as one write.
    """

    def __init__(
        self,
        url: str,
        deliver: Callable[[InboundMessage], None],
        client_id: str = "village-brain-ingest",
        mqtt_version: str = "5",
        session_expiry_s: int = 7 * 86_400,
        receive_maximum: int = 1000,
        keepalive: int = 30,
        username: str | None = None,
        password: str | None = None,
        ca_file: Path | None = None,
        client_cert: Path | None = None,
        client_key: Path | None = None,
        subscriptions: list[str] | None = None,
    ) -> None:
        self.host, self.port = split_mqtt_url(url)
        self._subscriptions = list(dict.fromkeys(subscriptions or SUBSCRIPTIONS))
        self._subscriptions_lock = threading.Lock()
        # SUBSCRIBEs sent and SUBACKs received on this connection: equal once the broker
        # has every subscription, so nothing published from then on is missed.
        self._subscribes_sent = 0
        self._subscribes_acked = 0
        self._session_up = False  # CONNACK received and our subscriptions sent on it
        self._deliver = deliver
        self._v5 = mqtt_version == "5"
        self._session_expiry_s = session_expiry_s
        self._receive_maximum = receive_maximum
        self._keepalive = keepalive
        self.generation = 0  # counts connections; see the class docstring
        # The generation and the client's epoch of the current connection, set together.
        self._acking: tuple[int, int] = (0, 0)
        self._stopping = False
        self.connected = threading.Event()
        self._gone = threading.Event()  # set when a disconnect has happened
        self.client = WireClient(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5 if self._v5 else mqtt.MQTTv311,
            # MQTT 3.1.1 keeps the session only without clean session; v5 uses expiry instead.
            clean_session=None if self._v5 else False,
            manual_ack=True,
        )
        if username:
            self.client.username_pw_set(username, password)
        if uses_tls(url):
            self.client.tls_set(
                ca_certs=_path(ca_file), certfile=_path(client_cert), keyfile=_path(client_key)
            )
        self._last_failure = ""
        self.client.on_connect_fail = self._on_connect_fail
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe

    def start(self) -> None:
        if self._v5:
            props = Properties(PacketTypes.CONNECT)
            # Without an expiry an MQTT 5 session ends at disconnect, and with it the queue.
            props.SessionExpiryInterval = self._session_expiry_s
            props.ReceiveMaximum = self._receive_maximum
            self.client.connect_async(
                self.host, self.port, keepalive=self._keepalive, clean_start=False, properties=props
            )
        else:
            self.client.connect_async(self.host, self.port, keepalive=self._keepalive)
        self.client.loop_start()

    def stop(self) -> None:
        self._stopping = True
        self._gone.clear()
        self._flush_acks()
        if self.client.disconnect() == mqtt.MQTT_ERR_SUCCESS:
            # paho's loop_stop ends the network thread at its next turn, written or not: wait
            # until the DISCONNECT, and the acknowledgements queued before it, are on the wire.
            self._gone.wait(DISCONNECT_WAIT_S)
        self.client.loop_stop()
        self.connected.clear()

    def _flush_acks(self) -> None:
        """Let the acknowledgements already queued reach the broker before the DISCONNECT:
        closing a socket right after them has been seen to cost the broker the last ones."""
        deadline = time.monotonic() + DISCONNECT_WAIT_S
        while self.client.want_write() and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(ACK_GRACE_S)

    def subscribe(self, topics: list[str]) -> None:
        """Also receive `topics`, now and after every reconnect (a source learnt them)."""
        with self._subscriptions_lock:
            new = [t for t in topics if t not in self._subscriptions]
            self._subscriptions += new
            # Before the session is up, the connect handler subscribes to the whole list.
            if not (new and self._session_up):
                return
            self._subscribes_sent += 1
        options = SubscribeOptions(qos=1) if self._v5 else 1
        self.client.subscribe([(topic, options) for topic in new])

    def subscriptions_settled(self) -> bool:
        """Whether the broker has confirmed every subscription asked for so far."""
        with self._subscriptions_lock:
            return self.connected.is_set() and self._subscribes_acked >= self._subscribes_sent

    def publish(self, reply: Reply) -> None:
        """Send a device family's expected answer; paho queues it while we are disconnected."""
        self.client.publish(reply.topic, reply.payload, qos=reply.qos)

    def ack(self, mid: int, qos: int, generation: int) -> None:
        if qos > 0 and generation == self.generation:
            self.client.ack(mid, qos)

    def ack_all(self, messages: Sequence[InboundMessage]) -> None:
        """Acknowledge committed messages, all in one write (QoS 2 ones one by one)."""
        generation, epoch = self._acking
        current = [m for m in messages if m.qos and m.generation == generation]
        self.client.ack_many([m.mid for m in current if m.qos == 1], epoch)
        for m in current:
            if m.qos == 2:
                self.ack(m.mid, m.qos, m.generation)

    def _on_connect(
        self,
        client: mqtt.Client,
        _userdata: object,
        flags: mqtt.ConnectFlags,
        reason: object,
        _props: object,
    ) -> None:
        if getattr(reason, "is_failure", False):
            log.error("broker %s:%d refused the connection: %s", self.host, self.port, reason)
            return
        self._last_failure = ""
        self.generation += 1
        self._acking = (self.generation, self.client.epoch)
        # Subscribing here, not once at start, means a reconnect always resubscribes.
        options = SubscribeOptions(qos=1) if self._v5 else 1
        with self._subscriptions_lock:
            topics = list(self._subscriptions)
            self._subscribes_sent, self._subscribes_acked = 1, 0
            self._session_up = True
        client.subscribe([(topic, options) for topic in topics])
        log.info(
            "connected to broker %s:%d (session %s); subscribed to %s",
            self.host,
            self.port,
            "resumed" if flags.session_present else "new",
            ", ".join(topics[:8]) + (f" and {len(topics) - 8} more" if len(topics) > 8 else ""),
        )

    def _on_connect_fail(self, _client: mqtt.Client, _userdata: object) -> None:
        # paho calls this from inside its `except OSError`, so the cause is still at hand.
        failure = _explain_failure(sys.exc_info()[1])
        if failure != self._last_failure:
            log.error("cannot connect to broker %s:%d: %s", self.host, self.port, failure)
            self._last_failure = failure
        else:
            log.debug("still cannot connect to broker %s:%d: %s", self.host, self.port, failure)

    def _on_subscribe(
        self, _client: mqtt.Client, _userdata: object, _mid: int, reasons: list, _props: object
    ) -> None:
        with self._subscriptions_lock:
            self._subscribes_acked += 1
        refused = [r for r in reasons if getattr(r, "is_failure", False)]
        if refused:
            log.error("broker refused the subscription: %s", refused)
            return
        # Ready only once the broker has the subscription: from here nothing published is missed.
        self.connected.set()
        log.info("subscriptions confirmed; receiving")

    def _on_disconnect(
        self,
        _client: mqtt.Client,
        _userdata: object,
        _flags: object,
        reason: object,
        _props: object,
    ) -> None:
        self.connected.clear()
        self._gone.set()
        with self._subscriptions_lock:
            self._session_up = False
        if self._stopping:
            log.info("disconnected from broker %s:%d", self.host, self.port)
        else:
            log.warning("lost the broker %s:%d (%s); reconnecting", self.host, self.port, reason)

    def _on_message(self, _client: mqtt.Client, _userdata: object, msg: mqtt.MQTTMessage) -> None:
        # Whatever is raised here ends paho's network thread, and with it all ingest.
        try:
            topic = msg.topic
        except UnicodeDecodeError:  # brokers should refuse such topics; some do not
            topic = UNREADABLE_TOPIC  # the pipeline then refuses it as bad_topic
        content_type = None
        if self._v5 and msg.properties is not None:
            content_type = getattr(msg.properties, "ContentType", None)
            if not isinstance(content_type, str):
                content_type = None
        self._deliver(
            InboundMessage(
                topic=topic,
                payload=msg.payload,
                received_ms=time.time_ns() // 1_000_000,
                content_type=content_type,
                mid=msg.mid,
                qos=msg.qos,
                generation=self.generation,
                retain=bool(msg.retain),
            )
        )


def _path(value: Path | None) -> str | None:
    return str(value) if value is not None else None


def _explain_failure(exc: BaseException | None) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"TLS: the broker's certificate is not trusted ({exc.verify_message}); "
            "check mqtt.ca_file and the host name in mqtt.url"
        )
    if isinstance(exc, ssl.SSLError):
        return f"TLS handshake failed ({exc}); check the broker's TLS listener and our TLS files"
    return str(exc) if exc is not None else "unknown error"
