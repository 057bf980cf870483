"""`village-brain device-tokens`: tokens with which devices and gateways post over HTTP.

A token is printed once, when made; the registry keeps only its digest. Like `users`, this
works on the registry file directly, so it also works while the server runs, and a revoked
token is refused from the next request on.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from village_brain.broker.credentials_commands import known_devices
from village_brain.core.config import ConfigError, Settings
from village_brain.core.ids import id_problem
from village_brain.core.timefmt import format_ms, now_ms
from village_brain.store.device_tokens import DeviceTokenStore
from village_brain.store.registry_open import open_device_tokens

SettingsFrom = Callable[[argparse.Namespace], Settings]


def add_device_tokens_command(
    commands: argparse._SubParsersAction, settings_from: SettingsFrom
) -> None:
    tokens = commands.add_parser(
        "device-tokens", help="HTTP ingest tokens of devices and gateways: add, list, revoke"
    )
    actions = tokens.add_subparsers(required=True, metavar="ACTION")
    add = _action(actions, "add", "print a new token (shown this once)")
    who = add.add_mutually_exclusive_group(required=True)
    who.add_argument("device", nargs="?", help="a registered device: the token posts for it only")
    who.add_argument(
        "--gateway", metavar="VILLAGE", help="a gateway's token: posts for any device of VILLAGE"
    )
    add.set_defaults(action=_add)
    listing = _action(actions, "list", "tokens in force: id, holder, village, issued")
    listing.add_argument("--all", action="store_true", help="revoked ones too")
    listing.set_defaults(action=_list)
    revoke = _action(actions, "revoke", "revoke a token by its id (from `list`)")
    revoke.add_argument("id", type=int)
    revoke.set_defaults(action=_revoke)
    tokens.set_defaults(
        run=lambda args: _run(args, settings_from), mqtt_url=None, http=None, demo=False
    )


def _action(actions: argparse._SubParsersAction, name: str, text: str) -> argparse.ArgumentParser:
    parser = actions.add_parser(name, help=text)
    parser.add_argument("--config", type=Path, help="TOML configuration file")
    parser.add_argument("--data-dir", type=Path, help="where the registry is kept")
    return parser


def _run(args: argparse.Namespace, settings_from: SettingsFrom) -> int:
    settings = settings_from(args)
    store = open_device_tokens(settings)
    try:
        return args.action(store, settings, args)
    finally:
        store.close()


def _add(store: DeviceTokenStore, settings: Settings, args: argparse.Namespace) -> int:
    if args.gateway is not None:
        problem = id_problem("village", args.gateway)
        if problem:
            raise ConfigError(f"--gateway {args.gateway!r}: {problem}")
        token_id, token = store.issue("gateway", args.gateway, None, now_ms())
        holder = f"the gateway of village {args.gateway}"
    else:
        village = known_devices(settings).get(args.device)
        if village is None:
            raise ConfigError(
                f"{args.device!r} is not a registered device; register it first, or give "
                "a gateway token with --gateway VILLAGE"
            )
        token_id, token = store.issue("device", village, args.device, now_ms())
        holder = f"device {args.device} of village {village}"
    print(token)
    print(f"(token {token_id}, for {holder}: keep it now, it is not shown again)", file=sys.stderr)
    return 0


def _list(store: DeviceTokenStore, _settings: Settings, args: argparse.Namespace) -> int:
    for token in store.tokens(include_revoked=args.all):
        revoked = f"\trevoked {format_ms(token.revoked_ms)}" if token.revoked_ms else ""
        print(
            f"{token.id}\t{token.kind}\t{token.device or '*'}\t{token.village}\t"
            f"{format_ms(token.issued_ms)}{revoked}"
        )
    return 0


def _revoke(store: DeviceTokenStore, _settings: Settings, args: argparse.Namespace) -> int:
    if not store.revoke(args.id, now_ms()):
        raise ConfigError(f"there is no token {args.id} in force; see `device-tokens list`")
    print(f"revoked token {args.id}")
    return 0
