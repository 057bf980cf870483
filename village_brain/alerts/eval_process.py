"""Rule evaluation in a process of its own, so that it does not hold the ingest's interpreter lock.

Evaluating every committed reading is pure computation; in the ingest process it competes for
the one interpreter lock with the MQTT client and the writer. Here the engine calls this as
it calls an Evaluator and the work is done in a child (eval_child.py), while the waiting
writer lets the client read on. Calls that answer nothing (arming a device, restoring a
state) are queued and go with the next call that answers, in order, so arming a fleet at
start costs one round trip, not one per device.

Should the child die, a new one starts and the engine seeds it as it seeds an evaluator at a
start (`on_lost`): from the stored rule states, open alerts and last-seen times.
"""

from __future__ import annotations

import logging
import os
import pickle
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import msgspec

from village_brain.alerts.eval_child import WireChange
from village_brain.alerts.evaluator import (
    Change,
    Clockwork,
    History,
    Key,
    Seen,
    StatusSeen,
)
from village_brain.alerts.rules import Rule
from village_brain.core.catalog import Catalog
from village_brain.core.records import Reading
from village_brain.store.registry import Event

log = logging.getLogger(__name__)
_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder().decode
STOP_WAIT_S = 5.0


class EvaluationFailed(RuntimeError):
    """The child could not evaluate a call (its own error), or died twice in a row."""


class EvaluatorProcess:
    def __init__(
        self,
        rules: Iterable[Rule],
        catalog: Catalog,
        clockwork: Clockwork,
        offline_after_intervals: float,
        place_of: Callable[[str], str],
        kind_of: Callable[[str], str],
        history: History | None,
        on_lost: Callable[[], None] = lambda: None,
    ) -> None:
        self._setup = {
            "catalog": catalog,
            "clockwork": clockwork,
            "offline_after_intervals": offline_after_intervals,
            "history": history is not None,
        }
        self._answers: dict[str, Callable[..., Any]] = {
            "place_of": place_of,
            "kind_of": kind_of,
            "history": lambda sensor, windows: (
                {}
                if history is None
                else history(sensor, {d: tuple(w) for d, w in windows.items()})
            ),
        }
        self.on_lost = on_lost
        self.rules: dict[str, Rule] = {}
        self._queued: list[tuple[str, tuple]] = []
        self._dirty: dict[Key, tuple[str, str, dict[str, Any]]] = {}
        self._lock = threading.RLock()
        self._start()
        self.set_rules(rules)

    # --- the evaluator's calls -----------------------------------------------------------

    def set_rules(self, rules: Iterable[Rule]) -> list[Key]:
        rules = list(rules)
        self.rules = {r.id: r for r in rules if r.enabled}
        return [(k[0], k[1], k[2]) for k in self._call("set_rules", rules)]

    def batch(
        self,
        readings: Sequence[Reading],
        seen: Iterable[Seen] = (),
        statuses: Iterable[StatusSeen] = (),
        events: Sequence[Event] = (),
    ) -> list[Change]:
        return self._changes(self._call("batch", readings, list(seen), list(statuses), events))

    def tick(self, now_ms: int) -> list[Change]:
        return self._changes(self._call("tick", now_ms))

    def firing(self) -> set[Key]:
        return {(k[0], k[1], k[2]) for k in self._call("firing")}

    def take_dirty(self) -> dict[Key, tuple[str, str, dict[str, Any]]]:
        with self._lock:
            dirty, self._dirty = self._dirty, {}
            return dirty

    def load_states(self, states: Iterable[tuple[Key, str, str, dict[str, Any]]]) -> None:
        self._queue("load_states", list(states))

    def restore(self, keys: Iterable[tuple[Key, str]], now_ms: int) -> None:
        self._queue("restore", list(keys), now_ms)

    def arm(
        self,
        device: str,
        village: str,
        heard_ms: int | None,
        sensors_heard: dict[str, int],
        now_ms: int,
    ) -> None:
        self._queue("arm", device, village, heard_ms, sensors_heard, now_ms)

    def note_sensors(self, device: str, sensors: Iterable[str]) -> None:
        self._queue("note_sensors", device, list(sensors))

    def disarm(self, key: Key) -> None:
        self._queue("disarm", key)

    @property
    def pid(self) -> int:
        """The child's process id (to watch it, or to stop it by hand)."""
        return self._process.pid

    def close(self) -> None:
        with self._lock:
            self._conn.close()
            try:
                self._process.wait(timeout=STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    # --- the child -----------------------------------------------------------------------

    def _start(self) -> None:
        ours, theirs = socket.socketpair()
        root = str(Path(__file__).resolve().parents[2])  # the child imports this same code
        env = dict(
            os.environ,
            PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
        )
        with theirs:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "village_brain.alerts.eval_child", str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                env=env,
            )
        self._conn = Connection(ours.detach())
        self._conn.send_bytes(pickle.dumps(self._setup))

    def _queue(self, name: str, *args: Any) -> None:
        with self._lock:
            self._queued.append((name, args))

    def _call(self, name: str, *args: Any) -> Any:
        with self._lock:
            self._queued.append((name, args))
            calls, self._queued = self._queued, []
            try:
                return self._exchange(calls)
            except (EOFError, OSError):
                pass
            self._restart(name)
            # Once more, on the seeded child, behind what seeding it left queued.
            self._queued.append((name, args))
            calls, self._queued = self._queued, []
            return self._exchange(calls)

    def _exchange(self, calls: list[tuple[str, tuple]]) -> Any:
        self._conn.send_bytes(_encode(calls))
        while True:
            reply = _decode(self._conn.recv_bytes())
            if reply[0] == "ask":
                _, question, args = reply
                self._conn.send_bytes(_encode(self._answers[question](*args)))
                continue
            if reply[0] == "error":
                raise EvaluationFailed(f"alert evaluation failed in its process: {reply[1]}")
            _, result, dirty = reply
            for key, kind, village, state in dirty:
                self._dirty[(key[0], key[1], key[2])] = (kind, village, state)
            return result

    def _restart(self, during: str) -> None:
        code = self._process.poll()
        log.error(
            "the alert evaluation process ended (exit code %s) during %s; starting another "
            "and seeding it from the stored states",
            code,
            during,
        )
        self._conn.close()
        if code is None:
            self._process.kill()
        self._process.wait()
        self._start()
        self._queued = []
        try:
            self.set_rules(list(self.rules.values()))
            self.on_lost()
        except (EOFError, OSError):
            raise EvaluationFailed("the alert evaluation process died again at its start") from None

    def _changes(self, wire: list[WireChange]) -> list[Change]:
        out = []
        for action, rule_id, village, device, subject, at_ms, value, reason in wire:
            rule = self.rules.get(rule_id)
            if rule is not None:
                out.append(Change(action, rule, village, device, subject, at_ms, value, reason))  # type: ignore[arg-type]
        return out
