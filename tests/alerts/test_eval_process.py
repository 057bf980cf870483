"""Rule evaluation in a process of its own: the same changes as in a thread, a child that dies
replaced and seeded from the store, and no child outliving its engine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from village_brain.alerts.engine import AlertEngine
from village_brain.alerts.eval_process import EvaluatorProcess
from village_brain.alerts.evaluator import DEFAULT_CLOCKWORK, Change, Evaluator
from village_brain.alerts.rules import default_rules
from village_brain.alerts.store import AlertStore
from village_brain.core.bus import Bus
from village_brain.core.catalog import default_catalog
from village_brain.core.config import AlertSettings
from village_brain.core.records import Reading
from village_brain.store.registry import BatchRecord, Event, RegistryStore

from support.waiting import wait_until

MIN = 60_000
T0 = 1_800_000_000_000
CATALOG = default_catalog()


def both() -> tuple[Evaluator, EvaluatorProcess]:
    rules = default_rules(CATALOG)
    args = (CATALOG, DEFAULT_CLOCKWORK, 3.0)
    places = {"place_of": lambda _d: "", "kind_of": lambda _d: ""}
    history = {"history": lambda _s, _w: {}}
    return Evaluator(rules, *args, **places, **history), EvaluatorProcess(
        rules, *args, **places, **history
    )


def plain(changes: list[Change]) -> list[tuple]:
    return [(c.action, c.rule.id, c.device, c.subject, c.at_ms, c.value) for c in changes]


def test_the_evaluation_process_gives_the_changes_and_states_a_thread_gives():
    here, there = both()
    try:
        for ev in (here, there):
            ev.note_sensors("g1", ["water_level"])
            ev.arm("g1", "xs", None, {}, T0)
        steps = [
            (
                "batch",
                [Reading("xs", "g1", "water_level", T0 + MIN, 2.6)],
                [("g1", "xs", T0 + MIN)],
            ),
            ("tick", T0 + 4 * MIN),  # river_warning has held 2 minutes
            ("batch", [Reading("xs", "g1", "water_level", T0 + 5 * MIN, 3.5)], []),
            ("events", [Event("xs", "g1", T0 + 6 * MIN, "smoke_alarm")]),
            ("batch", [Reading("xs", "g1", "water_level", T0 + 7 * MIN, 1.0)], []),
            ("tick", T0 + 60 * MIN),  # silent since: device_offline fires
        ]
        for step in steps:
            if step[0] == "tick":
                got = [ev.tick(step[1]) for ev in (here, there)]
            elif step[0] == "events":
                got = [ev.batch([], events=step[1]) for ev in (here, there)]
            else:
                got = [ev.batch(step[1], step[2]) for ev in (here, there)]
            assert plain(got[0]) == plain(got[1]), step
            assert here.take_dirty() == there.take_dirty(), step
        assert here.firing() == there.firing() != set()
    finally:
        there.close()


def test_calls_that_answer_nothing_go_with_the_next_call_in_order():
    here, there = both()
    try:
        for ev in (here, there):
            for n in range(500):  # a fleet armed at start: one round trip, not 500
                ev.arm(f"g{n}", "xs", T0, {}, T0)
        assert plain(here.tick(T0 + 60 * MIN)) == plain(there.tick(T0 + 60 * MIN))
        assert len(there.firing()) == 500
    finally:
        there.close()


def open_engine(tmp_path: Path, now: list[int]) -> AlertEngine:
    return AlertEngine(
        AlertSettings(evaluate_in="process"),
        CATALOG,
        RegistryStore(tmp_path / "registry.sqlite3"),
        Bus(),
        tmp_path / "alerts.sqlite3",
        clock=lambda: now[0],
    )


def water(engine: AlertEngine, at_ms: int, value: float) -> None:
    engine.on_batch([Reading("xs", "g1", "water_level", at_ms, value)], BatchRecord())


def open_states(engine: AlertEngine) -> list[str]:
    return [a.state for a in engine.store.alerts(device="g1", severity="critical")]


def test_a_killed_evaluation_process_is_replaced_and_the_open_alert_still_resolves(tmp_path):
    now = [T0]
    engine = open_engine(tmp_path, now)
    try:
        water(engine, T0, 3.5)  # above the danger line: river_danger fires at once
        assert open_states(engine) == ["firing"]
        assert isinstance(engine.evaluator, EvaluatorProcess)
        first = engine.evaluator.pid
        os.kill(first, signal.SIGKILL)
        os.waitpid(first, 0)
        now[0] = T0 + MIN
        water(engine, T0 + MIN, 1.0)  # back below: the new child knows the alert is open
        assert engine.evaluator.pid != first
        assert open_states(engine) == ["resolved"]
    finally:
        engine.stop()


def test_stopping_the_engine_evaluates_what_the_writer_handed_over(tmp_path):
    engine = open_engine(tmp_path, [T0])
    engine.start()
    engine.on_committed([Reading("xs", "g1", "water_level", T0, 3.5)], BatchRecord())
    engine.stop()
    store = AlertStore(tmp_path / "alerts.sqlite3")
    try:
        assert [a.rule_id for a in store.open_alerts()] == ["river_danger"]
    finally:
        store.close()


def test_the_evaluation_process_ends_when_its_engine_process_is_killed(tmp_path):
    script = textwrap.dedent(
        """
        import time
        from village_brain.alerts.eval_process import EvaluatorProcess
        from village_brain.alerts.evaluator import DEFAULT_CLOCKWORK
        from village_brain.core.catalog import default_catalog

        ev = EvaluatorProcess(
            [], default_catalog(), DEFAULT_CLOCKWORK, 3.0, str, str, None
        )
        print(ev.pid, flush=True)
        time.sleep(60)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    wait_until(lambda: not _running(child), timeout=10, what="the orphaned child to end")


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # ended, and not yet reaped by whoever adopted it


def test_the_evaluation_process_outlasts_an_interrupt_sent_to_its_process_group():
    here, there = both()
    try:
        child = there.pid
        there.firing()  # started and listening
        os.kill(child, signal.SIGINT)  # as Ctrl-C at a terminal sends it to the group
        os.kill(child, signal.SIGTERM)
        reading = [Reading("xs", "g1", "water_level", T0, 3.5)]
        assert plain(there.batch(reading)) == plain(here.batch(reading)) != []
        assert there.pid == child  # the same child answered: none was started again
    finally:
        there.close()


def test_no_batch_counts_as_waiting_for_evaluation_once_the_engine_has_stopped(tmp_path):
    engine = open_engine(tmp_path, [T0])
    engine.start()
    engine.on_committed([Reading("xs", "g1", "water_level", T0, 1.0)], BatchRecord())
    engine.stop()
    assert engine.evaluating() == 0
