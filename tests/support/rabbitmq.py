"""Private RabbitMQ nodes for tests: one, or three clustered, beside any broker already running.

A node is private when everything it writes and listens on is its own: its node name, its
AMQP, MQTT and Erlang distribution ports, and its data, logs, pid file, config and plugin
list in a temporary directory. Erlang reads its cookie from `$HOME/.erlang.cookie`, so the
nodes and every `rabbitmqctl` call get a HOME of their own too: a broker the machine runs,
its cookie and its tools are never touched. The system-wide environment file is not read
(RABBITMQ_CONF_ENV_FILE points at our own), so its node name never leaks in.

Three nodes form their cluster by classic peer discovery, the others listing the first, whom
they join as they boot (no stop_app/join_cluster round trips). Debian's `rabbitmq-server` is
installed first when missing.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from village_brain.broker.ports import wait_until_accepting

from support.influx import ServerUnavailable, ensure_package
from support.ports import free_port

SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
# Not /usr/sbin/rabbitmqctl: run as root, that one switches to the rabbitmq user and its HOME.
CTL = Path("/usr/lib/rabbitmq/bin/rabbitmqctl")
PLUGINS = ("rabbitmq_mqtt", "rabbitmq_consistent_hash_exchange")
BOOT_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0


class RabbitNode:
    """One node: fixed name and ports for its whole life, so a restart is the same node."""

    def __init__(self, root: Path, name: str, home: Path, seed: str | None) -> None:
        self.name = name  # e.g. vbt1a2b-1@localhost
        self.dir = root / name.split("@")[0]
        self.home = home
        self.seed = seed  # the node this one joins at boot; None for the first
        self.host = "127.0.0.1"
        self.amqp_port = free_port(self.host)
        self.mqtt_port = free_port(self.host)
        self.dist_port = free_port(self.host)
        self.process: subprocess.Popen[bytes] | None = None
        self._write_files()

    @property
    def amqp_url(self) -> str:
        return f"amqp://guest:guest@{self.host}:{self.amqp_port}/%2F"

    @property
    def mqtt_url(self) -> str:
        return f"mqtt://{self.host}:{self.mqtt_port}"

    def env(self) -> dict[str, str]:
        d = self.dir
        return {
            **os.environ,
            "HOME": str(self.home),
            "RABBITMQ_CONF_ENV_FILE": str(d / "rabbitmq-env.conf"),
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_IP_ADDRESS": self.host,
            "RABBITMQ_NODE_PORT": str(self.amqp_port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(d / "mnesia"),
            "RABBITMQ_LOG_BASE": str(d / "log"),
            "RABBITMQ_PID_FILE": str(d / "node.pid"),
            "RABBITMQ_CONFIG_FILE": str(d / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(d / "advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(d / "enabled_plugins"),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }

    def _write_files(self) -> None:
        (self.dir / "log").mkdir(parents=True, exist_ok=True)
        (self.dir / "rabbitmq-env.conf").write_text("# this node's settings are in env\n")
        (self.dir / "enabled_plugins").write_text(f"[{','.join(PLUGINS)}].\n")
        lines = [
            f"listeners.tcp.default = {self.host}:{self.amqp_port}",
            f"mqtt.listeners.tcp.default = {self.host}:{self.mqtt_port}",
            "mqtt.allow_anonymous = true",
            "log.console = false",
            "log.file.level = warning",
            "disk_free_limit.absolute = 50MB",
        ]
        if self.seed is not None:
            lines += [
                "cluster_formation.peer_discovery_backend = classic_config",
                f"cluster_formation.classic_config.nodes.1 = {self.seed}",
                # All nodes boot at once: keep trying the seed until it is up (the default
                # gives up after 5 s and boots a cluster of its own).
                "cluster_formation.discovery_retry_limit = 240",
                "cluster_formation.discovery_retry_interval = 500",
            ]
        (self.dir / "rabbitmq.conf").write_text("\n".join(lines) + "\n")

    def launch(self) -> None:
        """Start the node's process; `wait_ready` waits until it serves AMQP and MQTT."""
        with (self.dir / "log" / "console.log").open("ab") as out:
            self.process = subprocess.Popen(
                [str(SERVER)],
                env=self.env(),
                # Mnesia writes its crash dumps (MnesiaCore.*) where the node runs: its own dir.
                cwd=self.dir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a kill of the test's group never reaches it
            )

    def wait_ready(self, timeout: float = BOOT_TIMEOUT_S) -> None:
        # The listeners open last, once the node has joined its cluster and loaded its data.
        alive = self.is_running
        deadline = time.monotonic() + timeout
        for port in (self.amqp_port, self.mqtt_port):
            if not wait_until_accepting(self.host, port, deadline - time.monotonic(), alive):
                tail = self.log_tail()
                self.kill()
                raise ServerUnavailable(f"RabbitMQ node {self.name} did not start:\n{tail}")

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """kill -9: the node has no chance to hand anything over."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.process = None

    def stop(self) -> None:
        """A clean shutdown, falling back to kill -9."""
        if not self.is_running():
            self.kill()
            return
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)  # the node shuts down in order on SIGTERM
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(STOP_TIMEOUT_S)
        self.kill()

    def ctl(self, *args: str, timeout: float = 60.0) -> str:
        """`rabbitmqctl -n NODE ARGS` with this node's HOME (and so its cookie)."""
        done = subprocess.run(
            [str(CTL), "-n", self.name, *args],
            env=self.env(),
            cwd=self.dir,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {done.stderr[-2000:]}")
        return done.stdout

    def log_tail(self, chars: int = 3000) -> str:
        texts = [p.read_text(errors="replace") for p in sorted((self.dir / "log").glob("*.log"))]
        return "\n".join(texts)[-chars:]


class RabbitCluster:
    """One or three nodes sharing a cookie; node 0 is the seed the others join."""

    def __init__(self, root: Path, size: int) -> None:
        ensure_package("rabbitmq-server", "rabbitmq-server")
        if not SERVER.exists():
            raise ServerUnavailable(f"rabbitmq-server is installed but {SERVER} is missing")
        self.root = root
        self.home = root / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        cookie = self.home / ".erlang.cookie"
        cookie.write_text(secrets.token_hex(20))
        cookie.chmod(0o400)
        tag = "vbt" + secrets.token_hex(3)
        names = [f"{tag}-{i}@localhost" for i in range(size)]
        self.nodes = [
            RabbitNode(root, name, self.home, None if i == 0 else names[0])
            for i, name in enumerate(names)
        ]

    @property
    def amqp_urls(self) -> list[str]:
        return [n.amqp_url for n in self.nodes]

    def start(self) -> None:
        # One at a time: the MQTT plugin's client-id tracking (a Raft group of its own in
        # 3.10) refuses a member joining while another one is, and a node booting beside a
        # joiner was seen to hang in it.
        for node in self.nodes:
            node.start()
        if len(self.nodes) > 1:
            self.check_clustered()

    def check_clustered(self) -> None:
        status = json.loads(self.nodes[0].ctl("cluster_status", "--formatter", "json"))
        running = set(status.get("running_nodes", []))
        if running != {n.name for n in self.nodes}:
            raise ServerUnavailable(f"RabbitMQ nodes did not form one cluster: {running}")

    def stop(self) -> None:
        with ThreadPoolExecutor(max_workers=len(self.nodes)) as pool:
            list(pool.map(lambda n: n.stop(), self.nodes))

    def running(self) -> list[RabbitNode]:
        return [n for n in self.nodes if n.is_running()]


def start_rabbitmq(root: Path, size: int = 1) -> RabbitCluster:
    cluster = RabbitCluster(root, size)
    try:
        cluster.start()
    except BaseException:
        cluster.stop()
        raise
    return cluster
