"""The `village-brain` command: serve (the whole thing) and simulate (a pretend village)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from village_brain.core.config import ConfigError, Settings, load_settings
from village_brain.core.hostport import join_host_port, split_host_port
from village_brain.core.memory import hold_mmap_threshold
from village_brain.preflight import check_inputs
from village_brain.roles import ROLES, check_role, start_live_feed

if TYPE_CHECKING:
    from fastapi import FastAPI

    from village_brain.auth.setup import FirstAdminSetup
    from village_brain.serving import HttpServer, StopSignals

log = logging.getLogger("village_brain")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    try:
        return args.run(args)
    except ConfigError as exc:
        print(f"village-brain: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="village-brain", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="ingest, store, API and dashboard in one process")
    serve.add_argument("--config", type=Path, help="TOML configuration file")
    serve.add_argument("--mqtt-url", help="broker to use (mqtt://host:port); default: embedded")
    serve.add_argument("--data-dir", type=Path, help="where the store keeps its files")
    serve.add_argument("--http", metavar="HOST:PORT", help="where the API and dashboard listen")
    serve.add_argument(
        "--mqtt-listen",
        metavar="HOST:PORT",
        help="where the embedded broker listens for devices (default 0.0.0.0:1883)",
    )
    serve.add_argument("--demo", action="store_true", help="also run a simulated village")
    serve.add_argument("--devices", type=int, default=24, help="simulated devices with --demo")
    serve.add_argument(
        "--role",
        choices=ROLES,
        default="all",
        help="all: everything here (default); ingest: receiver, writer and alerts, HTTP only "
        "/healthz; api: HTTP API and dashboard over the shared stores (docs/scale.md)",
    )
    serve.set_defaults(run=_serve)

    config = commands.add_parser("config", help="check the configuration and show it")
    config.add_argument("--config", type=Path, help="TOML configuration file")
    config.add_argument(
        "--reference", action="store_true", help="print every setting with its default instead"
    )
    config.set_defaults(
        run=_config, mqtt_url=None, mqtt_listen=None, data_dir=None, http=None, demo=False
    )

    sim = commands.add_parser("simulate", help="publish a believable village to a broker")
    sim.add_argument("--mqtt-url", required=True, help="broker, e.g. mqtt://127.0.0.1:1883")
    sim.add_argument("--devices", type=int, default=24, help="how many devices")
    sim.add_argument("--rate", type=float, default=2.0, help="telemetry messages per second")
    sim.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    sim.add_argument("--seed", type=int, default=7, help="same seed, same village")
    sim.add_argument("--mqtt-version", choices=["5", "3.1.1"], default="5")
    sim.set_defaults(run=_simulate)

    from village_brain.broker.credentials_commands import add_commands

    add_commands(commands, _settings_from)

    from village_brain.auth.commands import add_users_command

    add_users_command(commands, _settings_from)

    from village_brain.ingest.device_token_commands import add_device_tokens_command

    add_device_tokens_command(commands, _settings_from)

    from village_brain.ingest.amqp_commands import add_amqp_command

    add_amqp_command(commands, _settings_from)

    from village_brain.ops.commands import add_ops_commands

    add_ops_commands(commands, _settings_from)
    return parser


_SETTING_FLAGS = ("http", "mqtt_listen", "mqtt_url", "data_dir", "demo")


def _settings_from(args: argparse.Namespace) -> Settings:
    # Each command has the flags it needs; the ones it lacks leave their settings alone.
    flag = {name: getattr(args, name, None) for name in _SETTING_FLAGS}
    http = {}
    if flag["http"]:
        host, port = _address_flag("--http", flag["http"], "0.0.0.0:8080", any_port=True)
        http = {"host": host, "port": port}
    if flag["mqtt_listen"]:
        _address_flag("--mqtt-listen", flag["mqtt_listen"], "0.0.0.0:1883")
    overrides = {
        "mqtt": {"url": flag["mqtt_url"], "listen": flag["mqtt_listen"]},
        "store": {"data_dir": flag["data_dir"]},
        "http": http,
        "demo": flag["demo"] or None,
    }
    return load_settings(args.config, **overrides)


def _address_flag(flag: str, value: str, example: str, any_port: bool = False) -> tuple[str, int]:
    try:
        return split_host_port(value, any_port)
    except ValueError as exc:
        raise ConfigError(f"{flag} {exc}, e.g. {example}") from None


def _hosts(urls: list[str]) -> list[str]:
    return [url.rpartition("@")[2] for url in urls]


def _serve(args: argparse.Namespace) -> int:
    from village_brain import demo
    from village_brain.api.app import create_app, create_health_app
    from village_brain.broker import start_embedded_broker
    from village_brain.core.datadir_lock import DataDirLock
    from village_brain.service import Service
    from village_brain.serving import StopSignals

    settings = _settings_from(args)
    check_role(settings, args.role)
    check_inputs(settings)
    hold_mmap_threshold()  # fleet answers of several MB must not stay in the heap
    if args.role == "api":
        return _serve_api(settings)
    with StopSignals() as signals, ExitStack() as stack:
        # Before any store or account is opened: a second server must not touch the first's.
        stack.enter_context(DataDirLock(settings.store.data_dir))
        url, version = settings.mqtt.url, "5"
        if settings.ingest.input == "amqp":
            # Devices publish to RabbitMQ's MQTT plugin: no broker of our own.
            url, version = url or "mqtt://127.0.0.1:1883", "3.1.1"
            log.info("ingest: RabbitMQ partitions at %s", ", ".join(_hosts(settings.amqp.urls)))
        elif url is None:
            host, port = settings.mqtt.listen_address
            broker = stack.enter_context(
                start_embedded_broker(
                    settings.store.data_dir, host, port, free_port_if_taken=settings.demo
                )
            )
            url, version = broker.url, broker.mqtt_version
        else:
            log.info("devices: publish to the broker at %s", url)
        service = Service(settings, url, version)
        layout = demo.prepare(service, args.devices) if settings.demo else []
        # Stopped after the service (callbacks run last first): its final batches go out.
        start_live_feed(stack, settings, args.role, service.bus, service.writer)
        service.start()
        stack.callback(service.stop)
        if settings.demo:
            demo.start(stack, service, url, version, layout)
        if args.role == "ingest":
            health = create_health_app(service.api_context())
            return _run_http(signals, stack, health, settings, None, dashboard=False)
        app = create_app(service.api_context(), dashboard=settings.dashboard)
        return _run_http(signals, stack, app, settings, service.auth.setup)
    return 0


def _serve_api(settings: Settings) -> int:
    """`serve --role api`: no broker, receiver or writer (see village_brain/roles.py)."""
    from village_brain.api.app import create_app
    from village_brain.api_process import ApiProcess
    from village_brain.core.datadir_lock import DataDirLock
    from village_brain.serving import StopSignals

    with StopSignals() as signals, ExitStack() as stack:
        stack.enter_context(DataDirLock(settings.store.data_dir))
        process = ApiProcess(settings)
        stack.callback(process.stop)
        start_live_feed(stack, settings, "api", process.bus, None)
        app = create_app(process.api_context(), dashboard=settings.dashboard)
        return _run_http(signals, stack, app, settings, process.auth.setup)


def _run_http(
    signals: StopSignals,
    stack: ExitStack,
    app: FastAPI,
    settings: Settings,
    setup: FirstAdminSetup | None,
    dashboard: bool = True,
) -> int:
    from village_brain.serving import HttpServer

    http = HttpServer(app, settings.http.host, settings.http.port)
    http.start()
    stack.callback(http.stop)
    _announce_http(http, setup, dashboard)
    received = signals.wait(http)
    if received is None:
        log.error("the HTTP server stopped by itself; stopping the rest")
        return 1
    log.info("%s: stopping", received)
    stack.close()
    log.info("stopped cleanly")
    return 0


def _announce_http(http: HttpServer, setup: FirstAdminSetup | None, dashboard: bool) -> None:
    from village_brain.broker.device_address import interface_addresses
    from village_brain.web_address import dashboard_urls, staff_line

    if not dashboard:
        log.info("/healthz only on http://%s", join_host_port(http.host, http.port))
        return
    log.info("API and dashboard on http://%s", join_host_port(http.host, http.port))
    addresses = interface_addresses()
    log.info("%s", staff_line(http.host, http.port, addresses))
    if setup is not None:
        link = dashboard_urls(http.host, http.port, addresses)[0] + setup.path
        # Only here, in the log and on the terminal: whoever can read it may make the admin.
        log.warning(
            "no admin account yet: open %s to create the first one (the link works once; "
            "or: ./vb users add NAME --role admin, from the checkout)",
            link,
        )


def _config(args: argparse.Namespace) -> int:
    """Validate like serve does, then print the effective settings (secrets hidden)."""
    if args.reference:
        from village_brain.core.config_reference import settings_reference

        print(settings_reference(), end="")
        return 0
    settings = _settings_from(args)
    check_inputs(settings)
    print(json.dumps(settings.model_dump(mode="json"), indent=2, ensure_ascii=False))
    return 0


def _simulate(args: argparse.Namespace) -> int:
    import threading

    from village_brain.simulator import Simulator, village_layout

    layout = village_layout(args.devices, seed=args.seed)
    simulator = Simulator(
        args.mqtt_url,
        layout,
        rate=args.rate,
        speed=args.speed,
        seed=args.seed,
        mqtt_version=args.mqtt_version,
    )
    simulator.start()
    log.info("simulating %d devices at %.1f messages/s; Ctrl-C stops", len(layout), args.rate)
    try:
        threading.Event().wait()
    finally:
        simulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
