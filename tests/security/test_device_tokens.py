"""`village-brain device-tokens` and the store behind it: shown once, kept as digests."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from village_brain.cli import main
from village_brain.core.devices import Device
from village_brain.store.device_tokens import DeviceTokenStore
from village_brain.store.registry import RegistryStore


def tokens(tmp_path: Path, *args: str) -> int:
    action, *rest = args
    return main(["device-tokens", action, *rest, "--data-dir", str(tmp_path)])


def register(tmp_path: Path, device: str, village: str) -> None:
    registry = RegistryStore(tmp_path / "registry.sqlite3")
    registry.upsert_devices([Device(id=device, village=village, kind="river_gauge")])
    registry.close()


def check(tmp_path: Path, token: str):  # type: ignore[no-untyped-def]
    store = DeviceTokenStore(tmp_path / "registry.sqlite3")
    try:
        return store.check(token)
    finally:
        store.close()


def test_a_device_token_is_printed_once_and_posts_for_its_device_only(tmp_path, capsys):
    register(tmp_path, "g1", "xiashan")
    assert tokens(tmp_path, "add", "g1") == 0
    token = capsys.readouterr().out.strip()
    grant = check(tmp_path, token)
    assert grant.allows("xiashan", "g1") and not grant.allows("xiashan", "g2")


def test_only_the_digest_of_a_token_is_kept(tmp_path, capsys):
    tokens(tmp_path, "add", "--gateway", "xiashan")
    token = capsys.readouterr().out.strip()
    with closing(sqlite3.connect(tmp_path / "registry.sqlite3")) as conn:
        rows = conn.execute("SELECT * FROM device_tokens").fetchall()
    assert rows and token not in repr(rows) and token[4:] not in repr(rows)


def test_a_gateway_token_posts_for_every_device_of_its_village_only(tmp_path, capsys):
    tokens(tmp_path, "add", "--gateway", "xiashan")
    grant = check(tmp_path, capsys.readouterr().out.strip())
    assert grant.allows("xiashan", "anything") and not grant.allows("dongcun", "anything")


def test_a_token_for_an_unregistered_device_is_refused_with_what_to_do(tmp_path, capsys):
    assert tokens(tmp_path, "add", "nobody") == 2
    assert "--gateway" in capsys.readouterr().err


def test_list_shows_the_tokens_and_revoke_ends_one(tmp_path, capsys):
    register(tmp_path, "g1", "xiashan")
    tokens(tmp_path, "add", "g1")
    token = capsys.readouterr().out.strip()
    assert tokens(tmp_path, "list") == 0
    listed = capsys.readouterr().out
    assert listed.startswith("1\tdevice\tg1\txiashan\t") and token not in listed
    assert tokens(tmp_path, "revoke", "1") == 0
    assert check(tmp_path, token) is None
    capsys.readouterr()
    tokens(tmp_path, "list")
    assert capsys.readouterr().out == ""
    assert tokens(tmp_path, "revoke", "1") == 2


def test_a_persons_api_token_is_no_device_token(tmp_path):
    store = DeviceTokenStore(tmp_path / "registry.sqlite3")
    assert store.check("vbt_" + "a" * 43) is None and store.check("") is None
    store.close()
