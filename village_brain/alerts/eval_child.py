"""The evaluator's own process (eval_process.py): `-m village_brain.alerts.eval_child FD`.

It reads lists of calls from the socket `FD`, makes them on one Evaluator in order, and
answers the last one, with the tracker states that changed. What only the engine knows (a
device's place and kind, stored readings) it asks for in the middle of a call. It ends when
the socket closes: the engine stopped, or died.
"""

from __future__ import annotations

import logging
import pickle
import signal
import socket
import sys
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

import msgspec

from village_brain.alerts.evaluator import Change, Evaluator
from village_brain.alerts.rules import Rule
from village_brain.core.records import Reading
from village_brain.store.registry import Event

log = logging.getLogger(__name__)

# One change on the wire: its rule travels as its id, which the engine's side knows.
WireChange = tuple[str, str, str, str, str, int, float | None, str]
_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder().decode


def to_wire(change: Change) -> WireChange:
    c = change
    return (c.action, c.rule.id, c.village, c.device, c.subject, c.at_ms, c.value, c.reason)


def _changes(changes: list[Change]) -> list[WireChange]:
    return [to_wire(c) for c in changes]


def _batch(ev: Evaluator, readings: list, seen: list, statuses: list, events: list) -> Any:
    return _changes(
        ev.batch(
            msgspec.convert(readings, list[Reading]),
            [tuple(s) for s in seen],
            [tuple(s) for s in statuses],
            msgspec.convert(events, list[Event]),
        )
    )


def _set_rules(ev: Evaluator, rules: list) -> Any:
    return ev.set_rules(msgspec.convert(rules, list[Rule]))


def _load_states(ev: Evaluator, states: list) -> None:
    ev.load_states(((k[0], k[1], k[2]), kind, village, state) for k, kind, village, state in states)


def _restore(ev: Evaluator, keys: list, now_ms: int) -> None:
    ev.restore((((k[0], k[1], k[2]), village) for k, village in keys), now_ms)


# The calls the engine makes, by name: each takes the decoded arguments and gives what is
# sent back.
HANDLERS: dict[str, Callable[..., Any]] = {
    "batch": _batch,
    "tick": lambda ev, now_ms: _changes(ev.tick(now_ms)),
    "set_rules": _set_rules,
    "load_states": _load_states,
    "restore": _restore,
    "arm": lambda ev, *args: ev.arm(*args),
    "note_sensors": lambda ev, device, sensors: ev.note_sensors(device, sensors),
    "disarm": lambda ev, key: ev.disarm((key[0], key[1], key[2])),
    "firing": lambda ev: sorted(ev.firing()),
}


def serve(conn: Connection) -> None:
    setup = pickle.loads(conn.recv_bytes())  # the catalog and how to evaluate: trusted input

    def ask(name: str) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            conn.send_bytes(_encode(("ask", name, args)))
            return _decode(conn.recv_bytes())

        return call

    evaluator = Evaluator(
        [],
        setup["catalog"],
        setup["clockwork"],
        setup["offline_after_intervals"],
        place_of=ask("place_of"),
        kind_of=ask("kind_of"),
        history=ask("history") if setup["history"] else None,
    )
    while True:
        try:
            calls = _decode(conn.recv_bytes())
        except (EOFError, OSError):
            return
        conn.send_bytes(_encode(_answer(evaluator, calls)))


def _answer(evaluator: Evaluator, calls: list) -> tuple:
    try:
        result = None
        for name, args in calls:
            result = HANDLERS[name](evaluator, *args)
    except Exception as exc:
        log.exception("alert evaluation failed")
        return ("error", f"{type(exc).__name__}: {str(exc)[:500]}")
    dirty = [(key, *state) for key, state in evaluator.take_dirty().items()]
    return ("done", result, dirty)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Ctrl-C at a terminal and a service manager's stop reach the whole process group: the
    # engine is then still evaluating what it holds, so the child ends when it lets go.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sock = socket.socket(fileno=int(sys.argv[1]))
    serve(Connection(sock.detach()))


if __name__ == "__main__":
    main()
