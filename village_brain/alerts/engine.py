"""The alert engine: evaluates what ingest commits, keeps alerts, and queues notifications.

The ingest writer calls `on_committed` after each commit; the evaluator (in memory, in a
process of its own by default: eval_process.py) runs on the batch, and SQLite is touched
only when an alert changes. A timer thread handles what the clock alone decides (held
breaches, silent devices, reminders), and the dispatcher sends the outbox.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from village_brain.alerts.channel_watch import CHANNEL_KIND, ChannelWatch
from village_brain.alerts.command_watch import COMMAND_KIND, CommandWatch
from village_brain.alerts.dispatcher import Dispatcher, RetryPolicy
from village_brain.alerts.eval_process import EvaluatorProcess
from village_brain.alerts.evaluator import Change, Clockwork, Evaluator, Key
from village_brain.alerts.kinds import KINDS
from village_brain.alerts.lifecycle_store import LifecycleStore
from village_brain.alerts.notices import outgoing
from village_brain.alerts.payloads import EVENT_TYPE, alert_fields, message
from village_brain.alerts.policy import Policy
from village_brain.alerts.records import Alert, NewAlert, Outgoing, TimelineEntry, Webhook
from village_brain.alerts.rule_book import known_devices, merged_rules, rule_source
from village_brain.alerts.rules import Known, Rule, RuleError, load_rules, parse_rule
from village_brain.alerts.silence_store import SilenceStore
from village_brain.alerts.silences import Matchers, Silence
from village_brain.alerts.silencing import Silencer
from village_brain.alerts.store import AlertStore, Fence
from village_brain.alerts.targets import check_target
from village_brain.cluster.partitions import partition_of
from village_brain.cluster.refusals import NotOwned, StaleEpoch
from village_brain.core.bus import Bus
from village_brain.core.catalog import Catalog
from village_brain.core.config import AlertSettings, ConfigError
from village_brain.core.devices import Device
from village_brain.core.records import Reading
from village_brain.core.timefmt import duration_ms, now_ms, parse_duration_ms
from village_brain.store.base import SeriesStore
from village_brain.store.registry import BatchRecord, DeviceRow, RegistryStore

if TYPE_CHECKING:
    from village_brain.alerts.actions import RuleActions
    from village_brain.control.stage import ControlStage

log = logging.getLogger(__name__)
TICK_S = 0.25
DEVICE_CACHE_S = 60
EVALUATION_QUEUE = 4  # committed batches waiting for evaluation, at most
HISTORY_STEP_MS = 1_000
# With a shared store, how often what staff changed through other processes (alerts
# acknowledged or resolved by hand, silences, webhooks) is read again.
SHARED_READ_MS = 5_000


class AlertEngine:
    def __init__(
        self,
        settings: AlertSettings,
        catalog: Catalog,
        registry: RegistryStore,
        bus: Bus,
        path: Path,
        synchronous: str = "full",
        offline_after_intervals: float = 3.0,
        clock: Callable[[], int] = now_ms,
        series: SeriesStore | None = None,
        default_actions: bool = False,
        postgres_dsn: str | None = None,
        fence: Fence | None = None,
        partitions: int | None = None,
    ) -> None:
        """With `partitions` (several workers), the engine evaluates only the evaluation
        partitions it was given (`take_partitions`), and starts with none; such a worker
        evaluates in the threads that call it, whatever `evaluate_in` says."""
        self.settings = settings
        self.partition_count = partitions
        self._partitions: set[int] | None = None if partitions is None else set()
        self.stale_refusals = 0  # writes the fence refused: the partition had moved on
        self.catalog = catalog
        self.registry = registry
        self.bus = bus
        self.clock = clock
        self.series = series
        try:
            file_rules = load_rules(settings.rules_file, catalog, default_actions=default_actions)
        except RuleError as exc:
            # Said to the user as a configuration problem (exit code 2), not a traceback.
            raise ConfigError(str(exc)) from None
        self.file_rules = {r.id: r for r in file_rules}
        self.store = AlertStore(path, synchronous, postgres_dsn, fence)
        self._lock = threading.RLock()
        self._devices: dict[str, Device | None] = {}
        self._webhooks = {w.id: w for w in self.store.webhooks()}
        self._rule_marks = self.store.api_rule_marks()  # before the rules: a change shows
        evaluator = (
            EvaluatorProcess
            if settings.evaluate_in == "process" and partitions is None
            else Evaluator
        )
        self.evaluator = evaluator(
            self.rules(),
            catalog,
            Clockwork(settings.time_zone, settings.night, settings.day),
            offline_after_intervals,
            place_of=self._place_of,
            kind_of=self._kind_of,
            history=self._history if series is not None else None,
        )
        # With evaluation in its own process, committed batches wait here for the engine's
        # evaluation thread: the writer goes on at once, while the thread waits for the
        # child without holding the interpreter lock. Bounded: a child that cannot keep up
        # slows ingest rather than filling memory.
        self._evaluating: queue.Queue[tuple[Sequence[Reading], BatchRecord] | None] | None = None
        if isinstance(self.evaluator, EvaluatorProcess):
            self.evaluator.on_lost = self._reseed
            self._evaluating = queue.Queue(maxsize=EVALUATION_QUEUE)
        self.notify = Policy.from_settings(settings.notify)
        self.dispatcher = Dispatcher(
            self.store, self._webhooks.get, _policy(settings), clock, self.notify
        )
        self._warn_unknown_scopes()
        self.store.forget_states(self.evaluator.rules)
        self.evaluator.load_states(s for s in self.store.rule_states() if self._mine(s[0][1]))
        self._armed: set[str] = set()
        self._seed_presence()
        self.lifecycle = LifecycleStore(self.store)
        self.silencer = Silencer(SilenceStore(self.store), self._place_of)
        self.channels = ChannelWatch(self.store, settings.channel_failing_after)
        self.commands = CommandWatch(self.store, catalog)
        self.actions: RuleActions | None = None  # set by use_control
        # A failing channel's alert is kept by the channel watch, a failed safety command's
        # by the command watch, not among the rules' alerts.
        self._open = {
            (a.rule_id, a.device, a.subject): a
            for a in self.store.open_alerts()
            if a.kind not in (CHANNEL_KIND, COMMAND_KIND) and self._mine(a.device)
        }
        self._unrecorded: dict[Key, list[Change]] = {}
        self._unsaved: dict[Key, tuple[str, str, dict[str, Any]]] = {}
        self._refused: set[Key] = set()
        self._failing: set[str] = set()
        self._stale_logged: set[int] = set()
        self._shared_read_ms = 0
        self._restore()
        self._save_states(self.clock())
        self._stop = threading.Event()
        self._timer = threading.Thread(target=self._run_timer, name="alert-timer", daemon=True)
        self._evaluation = threading.Thread(
            target=self._run_evaluation, name="alert-evaluation", daemon=True
        )

    def start(self) -> None:
        self.dispatcher.start()
        self._timer.start()
        if self._evaluating is not None:
            self._evaluation.start()

    def stop(self) -> None:
        if self._evaluation.is_alive():
            assert self._evaluating is not None
            self._evaluating.put(None)  # after what the writer handed over before it stopped
            self._evaluation.join(timeout=30)
        self._stop.set()
        if self._timer.is_alive():
            self._timer.join(timeout=10)
        self.dispatcher.stop()
        if isinstance(self.evaluator, EvaluatorProcess):
            self.evaluator.close()
        self.store.close()

    # --- evaluation ----------------------------------------------------------------------

    def on_committed(self, readings: Sequence[Reading], record: BatchRecord) -> None:
        """The ingest writer's listener, run after each commit on the writer's thread: hands
        the batch to the evaluation thread, or evaluates it here."""
        if self._evaluating is None:
            self.on_batch(readings, record)
        else:
            self._evaluating.put((readings, record))

    def _run_evaluation(self) -> None:
        assert self._evaluating is not None
        while True:
            batch = self._evaluating.get()
            try:
                if batch is None:
                    return
                self.on_batch(*batch)
            except Exception:
                log.exception("alert evaluation of a committed batch failed")
            finally:
                self._evaluating.task_done()

    def evaluating(self) -> int:
        """Committed batches handed over and not yet evaluated."""
        return 0 if self._evaluating is None else self._evaluating.unfinished_tasks

    def on_batch(self, readings: Sequence[Reading], record: BatchRecord) -> None:
        """Evaluate a committed batch now, in the caller's thread."""
        with self._lock:
            for device in record.new_devices:
                self._devices[device.id] = device
                self._arm(device, None, {})
            seen = [(d, self._village_of(d), ms) for d, ms in record.seen.items()]
            # Events are signs of life too, at their receipt (a device's clock may lag).
            seen += [
                (d, self._village_of(d), ms)
                for d, ms in record.stored.items()
                if d not in record.seen
            ]
            statuses = [
                (d, self._village_of(d), status, ms) for d, (status, ms) in record.statuses.items()
            ]
            self._apply(self.evaluator.batch(readings, seen, statuses, record.events))

    def tick(self, now: int | None = None) -> None:
        now = self.clock() if now is None else now
        with self._lock:
            if self.partition_count is not None and now - self._shared_read_ms >= SHARED_READ_MS:
                self._shared_read_ms = now
                self._quietly("reading staff changes", self._take_in_staff_changes)
            self._apply(self.evaluator.tick(now))
            self._close_orphans(now)
            self._remind(now)
            self._quietly(
                "channel watch",
                lambda: self.channels.check(self._webhooks, now, self._outgoing, self._announce),
            )
            self._quietly("silences", lambda: self._unsilence(now))
            if self.actions is not None:
                self._quietly("command follow-up", lambda: self._follow_commands(now))

    def _run_timer(self) -> None:
        refreshed = 0
        while not self._stop.wait(TICK_S):
            try:
                self.tick()
                refreshed += 1
                if refreshed * TICK_S >= DEVICE_CACHE_S:
                    refreshed = 0
                    self.refresh_devices()
            except Exception:
                log.exception("alert timer failed")

    def refresh_devices(self) -> None:
        """Forget cached device details, and watch devices registered since (through the API
        or a devices file) for silence from now, their registration."""
        rows = self.registry.devices()
        with self._lock:
            self._devices = {}
            for row in rows:
                if row.device.id not in self._armed and self._mine(row.device.id):
                    self._devices[row.device.id] = row.device
                    self._arm(row.device, _heard(row), {})

    # --- evaluation partitions (several workers; cluster/stage.py) -----------------------
    #
    # Each worker evaluates the devices of the partitions it holds a lease on. Taking one
    # loads its state from the shared store; the timer then acts for it too. Dropping one
    # forgets it here: its new owner has loaded it from the store.

    def _mine(self, device: str) -> bool:
        if self._partitions is None or self.partition_count is None:
            return True
        return partition_of(device, self.partition_count) in self._partitions

    def owned_partitions(self) -> list[int] | None:
        with self._lock:
            return None if self._partitions is None else sorted(self._partitions)

    def take_partitions(self, partitions: set[int]) -> None:
        """Evaluate these partitions from now on: their rule states and open alerts from the
        store, and their registered devices watched for silence from their last-seen times.
        Rate windows are rebuilt from the series store at each tracker's first reading."""
        assert self._partitions is not None and self.partition_count is not None
        count = self.partition_count
        with self._lock:
            fresh = partitions - self._partitions
            if not fresh:
                return
            self._partitions |= fresh

            def taken(device: str) -> bool:
                return partition_of(device, count) in fresh

            self.evaluator.load_states(s for s in self.store.rule_states() if taken(s[0][1]))
            for alert in self.store.open_alerts():
                if alert.kind not in (CHANNEL_KIND, COMMAND_KIND) and taken(alert.device):
                    self._open[(alert.rule_id, alert.device, alert.subject)] = alert
            self._armed = {d for d in self._armed if not taken(d)}
            self._seed_presence()
            self._restore()

    def drop_partitions(self, partitions: set[int]) -> None:
        """Stop evaluating these partitions: forget their trackers, alerts and unwritten
        changes (their new owner starts from what the store holds)."""
        assert self._partitions is not None and self.partition_count is not None
        count = self.partition_count
        with self._lock:
            self._partitions -= partitions

            def dropped(device: str) -> bool:
                return partition_of(device, count) in partitions

            self.evaluator.forget(dropped)
            for table in (self._open, self._unrecorded, self._unsaved):
                for key in [k for k in table if dropped(k[1])]:
                    del table[key]
            self._refused = {k for k in self._refused if not dropped(k[1])}
            self._armed = {d for d in self._armed if not dropped(d)}

    def settled(self, partition: int) -> bool:
        """Whether every change and state of the partition's devices is written down."""
        return partition not in self.unsettled()

    def unsettled(self) -> set[int]:
        """The partitions with a change or state not yet written down (one pass for all,
        as the stage asks after every message)."""
        assert self.partition_count is not None
        count = self.partition_count
        with self._lock:
            self._apply([])  # try again what the store refused before
            waiting = [*self._unrecorded, *self._unsaved, *self.evaluator.dirty_keys()]
            return {partition_of(key[1], count) for key in waiting}

    def _take_in_staff_changes(self) -> None:
        """Staff act in api processes too, on the shared store: an alert acknowledged there
        is not reminded of here, one acknowledged and taken back is again, one resolved by
        hand is not resolved again; their silences, webhooks and rules apply here from now."""
        current = {a.id: a for a in self.store.open_alerts()}
        for key, alert in list(self._open.items()):
            fresh = current.get(alert.id)
            if fresh is None:
                del self._open[key]  # resolved by hand: as `resolve_by_hand` does here
            else:
                self._open[key] = fresh
        hooks = {w.id: w for w in self.store.webhooks()}
        # In place: the dispatcher looks webhooks up in this very dict.
        for gone in self._webhooks.keys() - hooks.keys():
            self._webhooks.pop(gone, None)
        self._webhooks.update(hooks)
        self.silencer.reload()
        if self.store.api_rule_marks() != self._rule_marks:
            self._reload()  # a rule made, changed or deleted in an api process

    def _note_stale(self, key: Key, exc: Exception) -> None:
        """The fence refused a write: another worker owns the partition now. The change
        waits like any unwritten one, refused again (and counted) until the stage drops the
        partition at its next lease step; logged once per partition."""
        self.stale_refusals += 1
        if self.partition_count is None:
            return
        partition = partition_of(key[1], self.partition_count)
        if partition not in self._stale_logged:
            self._stale_logged.add(partition)
            log.warning("alert state of partition %d refused: %s", partition, exc)

    # --- recording changes ---------------------------------------------------------------
    #
    # Memory follows the database: a change is written first and only then applied to
    # `_open`, so a failed write (a full disk) leaves memory as it was. The evaluator has
    # already moved on, so the change waits in `_unrecorded` and is tried again before the
    # next evaluation, in order behind any earlier change of the same key.

    def _apply(self, changes: list[Change]) -> None:
        self._retry_unrecorded()
        self._unsaved.update(self.evaluator.take_dirty())
        for change in changes:
            queued = self._unrecorded.get(change.key)
            if queued is not None:
                self._unrecorded[change.key] = _queue_behind(queued, change)
            elif not self._record(change):
                self._unrecorded[change.key] = [change]
        if self._unsaved:
            self._save_states(changes[-1].at_ms if changes else self.clock())

    def _save_states(self, at_ms: int) -> None:
        """Tracker states that changed without an alert changing (a breach now pending)."""
        self._unsaved.update(self.evaluator.take_dirty())
        # A state whose alert change is still unwritten waits to be written with it.
        ready = {k: v for k, v in self._unsaved.items() if k not in self._unrecorded}
        if not ready:
            return
        try:
            self.store.save_states(ready, at_ms)
        except (StaleEpoch, NotOwned) as exc:
            self._note_stale(next(iter(ready)), exc)
            return
        except Exception:
            log.warning("could not write the state of %d rules; will try again", len(ready))
            return
        for key in ready:
            del self._unsaved[key]

    def _states_of(self, key: Key) -> dict[Key, tuple[str, str, dict[str, Any]]]:
        """The state of `key` to write with its alert change (in the same transaction)."""
        state = self._unsaved.pop(key, None)
        return {} if state is None else {key: state}

    def _retry_unrecorded(self) -> None:
        for key, queued in list(self._unrecorded.items()):
            while queued and (
                queued[0].rule.id not in self.evaluator.rules or self._record(queued[0])
            ):
                queued.pop(0)
            if not queued:
                del self._unrecorded[key]

    def _record(self, change: Change) -> bool:
        if change.action == "fire":
            return self._fire(change)
        return self._resolve(change.key, change.at_ms, change.value, change.reason)

    def _fire(self, change: Change) -> bool:
        if change.key in self._open:
            return True
        rule = change.rule
        new = NewAlert(
            rule.id,
            rule.name,
            rule.severity,
            rule.kind,
            change.village or self._village_of(change.device),
            change.device,
            change.subject,
            message(change, self.catalog),
            change.at_ms,
            change.value,
        )
        self._device(change.device)  # read now: nothing may be read inside the transaction
        states = self._states_of(change.key)
        alert = self._write(
            change.key, "firing", lambda: self.store.fire(new, self._outgoing, states)
        )
        if alert is None:
            self._unsaved.update(states)
            return False
        self._open[change.key] = alert
        self._announce("fired", alert)
        self._act("fired", alert, rule)
        return True

    def _resolve(self, key: Key, at_ms: int, value: float | None, reason: str) -> bool:
        alert = self._open.get(key)
        if alert is None:
            return True
        self._device(alert.device)  # read now: nothing may be read inside the transaction
        states = self._states_of(key)
        resolved = self._write(
            key,
            "resolution",
            lambda: self.store.resolve(alert.id, at_ms, value, reason, self._outgoing, states),
        )
        if resolved is None:
            self._unsaved.update(states)
            return False
        del self._open[key]
        self._announce("resolved", resolved)
        rule = self.evaluator.rules.get(key[0])
        if rule is not None:
            self._act("resolved", resolved, rule)
        return True

    def _remind(self, now: int) -> None:
        for key, alert in list(self._open.items()):
            if alert.state != "firing":
                continue
            rule = self.evaluator.rules.get(alert.rule_id)
            every = duration_ms(
                rule.repeat_every if rule and rule.repeat_every else self.settings.repeat_every
            )
            if now - (alert.notified_ms or alert.started_ms) >= every:
                self._device(alert.device)
                # Unwritten, the reminder is simply due again at the next tick.
                reminded = self._write(
                    key, "reminder", lambda a=alert: self.store.remind(a.id, now, self._outgoing)
                )
                if reminded is not None:
                    self._open[key] = reminded
                    self.dispatcher.wake()

    # --- rule actions (alerts/actions.py) -----------------------------------------------

    def use_control(self, control: ControlStage) -> None:
        """Let rules command devices; and follow every command, to watch safety ones."""
        from village_brain.alerts.actions import RuleActions

        with self._lock:
            self.actions = RuleActions(
                self.store,
                control,
                lambda: [r.device for r in self.registry.devices()],
                self._registered,  # not the cache: a siren registered a moment ago counts
                self.clock,
            )
            control.bus.subscribe(self.actions.heard, lambda kind: kind == "command")
            self._quietly("command follow-up", lambda: self._catch_up())

    def _catch_up(self) -> None:
        assert self.actions is not None
        self.actions.catch_up(self.evaluator.rules)

    def _act(self, on: str, alert: Alert, rule: Rule) -> None:
        """After the transition is committed: its commands, if the rule has any."""
        if self.actions is not None and rule.actions:
            actions = self.actions
            self._quietly("rule actions", lambda: actions.run(on, alert, rule))

    def _follow_commands(self, now: int) -> None:
        assert self.actions is not None
        for command in self.actions.drain():
            if self.commands.dangerous(command):
                self._device(command.device)  # read now: nothing may be read inside the transaction
                self.commands.check(command, now, self._outgoing, self._announce)

    def _write(self, key: Key, what: str, write: Callable[[], Alert]) -> Alert | None:
        """`write()`, or None when the database refused it (logged once per key until a write
        of that key succeeds again)."""
        try:
            alert = write()
        except (StaleEpoch, NotOwned) as exc:
            self._note_stale(key, exc)
            return None
        except Exception:
            if key not in self._refused:
                log.exception("could not record the %s of alert %s; will try again", what, key)
                self._refused.add(key)
            return None
        if key in self._refused:
            self._refused.discard(key)
            log.info("recorded the %s of alert %s after the database refused it", what, key)
        return alert

    def acknowledge(self, alert_id: int, by: str, comment: str) -> Alert:
        """Raises KeyError when there is no such alert, AlertConflict unless it is firing."""
        with self._lock:
            known = self.store.alert(alert_id)
            if known is not None:
                self._device(known.device)  # read before the transaction, not inside it
            alert = self.store.acknowledge(alert_id, by, comment, self.clock(), self._outgoing)
            return self._changed("acknowledged", alert)

    def wake(self) -> None:
        """The outbox has a row due now (a delivery sent again by hand)."""
        self.dispatcher.wake()

    def _announce(self, change: str, alert: Alert) -> None:
        self.dispatcher.wake()
        self.bus.publish("alert", {"change": change, "alert": self.describe(alert)})

    def describe(self, alert: Alert) -> dict[str, Any]:
        return alert_fields(
            alert, self.catalog, self._device(alert.device), self.settings.dashboard_url
        )

    def _outgoing(self, alert: Alert, entry: TimelineEntry) -> list[Outgoing]:
        """The outbox rows for one alert change; a silenced alert sends nothing."""
        if entry.kind not in EVENT_TYPE or self.silencer.holds(alert, self.clock()):
            return []
        return outgoing(
            self.notify,
            self.catalog,
            self.settings.dashboard_url,
            alert,
            entry,
            self.describe(alert),
            self.evaluator.rules.get(alert.rule_id),
            self._device(alert.device),
            self._webhooks.values(),
        )

    # --- rules ---------------------------------------------------------------------------

    def rules(self) -> list[Rule]:
        return merged_rules(self.file_rules, self.store, self.catalog)

    def rule_source(self, rule_id: str) -> str:
        return rule_source(self.store, rule_id)

    def put_rule(self, raw: dict[str, Any]) -> Rule:
        """Create or replace a rule (raises RuleError when it is not usable)."""
        # A rule switched off can name what it likes: it cannot fire.
        known = None if raw.get("enabled", True) is False else self.known()
        rule = parse_rule(raw, self.catalog, known)
        with self._lock:
            self.store.put_rule(rule.id, msgspec.to_builtins(rule), self.clock())
            self._reload()
        return rule

    def delete_rule(self, rule_id: str) -> bool:
        """Remove an API rule; a file rule it replaced comes back."""
        with self._lock:
            gone = self.store.delete_rule(rule_id)
            if gone:
                self._reload()
            return gone

    def known(self) -> Known:
        return known_devices(self.registry)

    def _reload(self) -> None:
        self._rule_marks = self.store.api_rule_marks()
        self.evaluator.set_rules(self.rules())
        self._armed.clear()
        self._seed_presence()
        self._restore()
        self._save_states(self.clock())

    def _reseed(self) -> None:
        """A new evaluation process knows nothing yet: seed it as at a start."""
        self.evaluator.load_states(s for s in self.store.rule_states() if self._mine(s[0][1]))
        self._armed.clear()
        self._seed_presence()
        self._restore()

    def _warn_unknown_scopes(self) -> None:
        """A file rule naming a device nobody registered may be waiting for it to report for
        the first time; say so, since a typo there would make a rule that never fires."""
        known = self.known()
        if not known.devices:
            return
        for rule in self.file_rules.values():
            try:
                parse_rule(msgspec.to_builtins(rule), self.catalog, known)
            except RuleError as exc:
                log.warning("%s (it will apply once such a device reports)", exc)

    def _restore(self) -> None:
        live = self.evaluator.firing()
        # The alert rows are the truth: a kept state firing with no open alert (resolved by
        # hand) starts over, and fires again if its condition still holds.
        for key in live - self._open.keys() - self._unrecorded.keys():
            self.evaluator.disarm(key)
        keys = [(k, a.village) for k, a in self._open.items() if k not in live]
        self.evaluator.restore(keys, self.clock())
        self._close_orphans(self.clock())

    def _close_orphans(self, now: int) -> None:
        """Alerts whose rule no longer exists cannot clear by themselves: close them now (and,
        when the database refuses, at the next tick)."""
        for key in [k for k in self._open if k[0] not in self.evaluator.rules]:
            self._resolve(key, now, None, "the rule was removed or disabled")

    # --- webhooks ------------------------------------------------------------------------

    def webhooks(self) -> list[Webhook]:
        return list(self._webhooks.values())

    def webhook(self, webhook_id: str) -> Webhook | None:
        return self._webhooks.get(webhook_id)

    def add_webhook(self, webhook: Webhook) -> Webhook:
        """Raises TargetRefused when the URL points into a private network."""
        check_target(webhook.url, self.settings.allow_private_targets or webhook.allow_private)
        self.store.put_webhook(webhook)
        with self._lock:
            self._webhooks[webhook.id] = webhook
        return webhook

    def delete_webhook(self, webhook_id: str) -> bool:
        with self._lock:
            self._webhooks.pop(webhook_id, None)
        return self.store.delete_webhook(webhook_id, self.clock())

    # --- devices -------------------------------------------------------------------------

    def _device(self, device_id: str) -> Device | None:
        if device_id not in self._devices:
            row = self.registry.device(device_id)
            self._devices[device_id] = row.device if row else None
        return self._devices[device_id]

    def _registered(self, device_id: str) -> Device | None:
        row = self.registry.device(device_id)
        return row.device if row else None

    def _place_of(self, device_id: str) -> str:
        device = self._device(device_id)
        return device.place if device else ""

    def _kind_of(self, device_id: str) -> str:
        device = self._device(device_id)
        return device.kind if device else ""

    def _history(
        self, sensor: str, windows: dict[str, tuple[int, int]]
    ) -> dict[str, list[tuple[int, float]]]:
        assert self.series is not None
        try:
            # By the second: exact enough for a window of minutes, and cheap for InfluxDB.
            return self.series.window_lasts(sensor, windows, HISTORY_STEP_MS)
        except Exception:
            log.warning(
                "could not read %d series of %s to rebuild rate windows", len(windows), sensor
            )
            return {}

    def _village_of(self, device_id: str) -> str:
        device = self._device(device_id)
        return device.village if device else ""

    def _seed_presence(self) -> None:
        """Carry silence across a restart: every registered device is watched, from its
        stored last-seen times, or from its registration when it never reported."""
        per_sensor = any(
            KINDS[r.kind].feed == "presence" and r.sensor for r in self.evaluator.rules.values()
        )
        for row in self.registry.devices():
            device = row.device
            if not self._mine(device.id):
                continue
            self._devices[device.id] = device
            sensors = self._sensors_heard(device.id) if per_sensor else {}
            self._arm(device, _heard(row), sensors)

    def _sensors_heard(self, device_id: str) -> dict[str, int]:
        if self.series is None:
            return {}
        try:
            return {v.sensor: v.ts_ms for v in self.series.latest(device_id)}
        except Exception:
            log.warning("could not read the latest readings of %s", device_id)
            return {}

    def _arm(self, device: Device, heard_ms: int | None, sensors_heard: dict[str, int]) -> None:
        self._armed.add(device.id)
        self.evaluator.note_sensors(device.id, device.sensors)
        self.evaluator.arm(device.id, device.village, heard_ms, sensors_heard, self.clock())

    # --- people's actions: lifecycle and silences ----------------------------------------

    def unacknowledge(self, alert_id: int, by: str) -> Alert:
        """Raises KeyError when there is no such alert, AlertConflict unless acknowledged."""
        with self._lock:
            return self._changed(
                "unacknowledged", self.lifecycle.unacknowledge(alert_id, by, self.clock())
            )

    def resolve_by_hand(self, alert_id: int, by: str, note: str) -> Alert:
        """Close the alert now. While its condition still holds no new alert fires: the next
        one comes when the condition has cleared and returns."""
        with self._lock:
            alert = self.lifecycle.resolve(alert_id, by, note, self.clock(), self._outgoing)
            return self._changed("resolved", alert)

    def assign(self, alert_id: int, assignee: str | None, by: str) -> Alert:
        with self._lock:
            return self._changed(
                "assigned", self.lifecycle.assign(alert_id, assignee, by, self.clock())
            )

    def _changed(self, change: str, alert: Alert) -> Alert:
        if alert.kind == CHANNEL_KIND:
            self.channels.track(alert)
        elif alert.kind == COMMAND_KIND:
            self.commands.track(alert)
        else:
            key = (alert.rule_id, alert.device, alert.subject)
            if alert.state == "resolved":
                self._open.pop(key, None)
            elif key in self._open:
                self._open[key] = alert
        self._announce(change, alert)
        return alert

    def add_silence(
        self, matchers: Matchers, starts_ms: int, ends_ms: int, reason: str, by: str
    ) -> Silence:
        return self.silencer.add(matchers, starts_ms, ends_ms, reason, by, self.clock())

    def expire_silence(self, silence_id: str, by: str) -> Silence:
        """Raises KeyError when there is no such silence; the timer notices the end."""
        return self.silencer.expire(silence_id, by, self.clock())

    def _quietly(self, what: str, work: Callable[[], None]) -> None:
        """Run `work`; a failure (the database refusing writes) is logged once until it
        works again, and tried again at the next tick."""
        try:
            work()
        except Exception:
            if what not in self._failing:
                log.exception("the %s failed; will try again", what)
                self._failing.add(what)
            return
        self._failing.discard(what)

    def _unsilence(self, now: int) -> None:
        """Note the alerts a silence took hold of, and notify, once, each alert still firing
        whose silence ended."""
        watched = [*self._open.values(), *self.channels.open.values(), *self.commands.open.values()]
        muted, ended = self.silencer.tick(watched, now)
        for alert in muted:
            self._announce("silenced", alert)
        for alert in ended:
            key = (alert.rule_id, alert.device, alert.subject)
            notified = self._write(
                key,
                "notification after its silence",
                lambda a=alert: self.silencer.store.renotify(a.id, now, self._outgoing),
            )
            if notified is not None:
                self.silencer.forget(alert.id)
                self._changed("unsilenced", notified)


def _heard(row: DeviceRow) -> int | None:
    """The latest sign of life of a device in the registry (None: never heard from)."""
    p = row.presence
    signs = [p.last_seen_ms, p.last_stored_ms, p.status_ms if p.status != "offline" else None]
    known = [ms for ms in signs if ms is not None]
    return max(known) if known else None


def _queue_behind(queued: list[Change], change: Change) -> list[Change]:
    """Changes of one key waiting to be written, with `change` after them. At most two wait:
    a fire and resolve (or resolve and fire) that both happened; a later flap back to the
    first one's state cancels out, so a long outage cannot pile them up."""
    if queued[-1].action == change.action:
        return queued
    if len(queued) >= 2:
        return queued[:1]
    return [*queued, change]


def _policy(settings: AlertSettings) -> RetryPolicy:
    return RetryPolicy(
        timeout_s=parse_duration_ms(settings.delivery_timeout) / 1000,
        first_retry_ms=parse_duration_ms(settings.retry_first),
        max_retry_ms=parse_duration_ms(settings.retry_max),
        max_attempts=settings.max_attempts,
        workers=settings.delivery_workers,
        allow_private=settings.allow_private_targets,
    )
