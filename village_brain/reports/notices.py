"""New and overdue work, told through the alert channels: the same outbox, dispatcher,
notification policy and robots (DingTalk, WeCom, Feishu) as alerts, never a second sender.

Each notice has a key (`work12.new`, `work12.overdue.<due>`), written in the alert database
in the same transaction as its outbox rows: a notice goes out once per item (and, when
overdue, once per due time), however often the queue is looked at and across restarts.

Routes see work as rule `work`, with a severity from its priority (urgent: critical, high:
major, normal: warning, low: info); a channel that takes alert firings takes work notices.
An overdue notice also goes to each matching route's escalate_to channels.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import msgspec

from village_brain.alerts.messages import local_time
from village_brain.alerts.policy import Policy
from village_brain.alerts.records import Outgoing, Webhook
from village_brain.alerts.store import AlertStore, put_outgoing
from village_brain.core.timefmt import format_ms
from village_brain.reports.records import WorkItem
from village_brain.reports.workflow import SEVERITY_OF, escalation_key, status_word

WORK_RULE = "work"
SCHEMA = """CREATE TABLE IF NOT EXISTS work_notices (
    key TEXT PRIMARY KEY,
    item_id INTEGER NOT NULL,
    at_ms INTEGER NOT NULL
)"""
KIND_WORDS = {"new": ("新工单", "New work"), "overdue": ("工单超时", "Overdue work")}


class WorkNotices:
    def __init__(
        self,
        store: AlertStore,
        policy: Policy,
        webhooks: Callable[[], list[Webhook]],
        dashboard_url: str,
        wake: Callable[[], None] = lambda: None,
        time_zone: str = "Asia/Shanghai",
    ) -> None:
        self.store = store
        self.policy = policy
        self.webhooks = webhooks
        self.dashboard_url = dashboard_url
        self.wake = wake
        self.time_zone = time_zone
        store.db.ensure(SCHEMA)

    def new(self, item: WorkItem, at_ms: int) -> bool:
        """Tell of new work once; True the first time."""
        return self._tell(f"work{item.id}.new", "new", item, at_ms)

    def overdue(self, item: WorkItem, at_ms: int) -> bool:
        """Escalate overdue work once per due time; True the first time."""
        return self._tell(escalation_key(item), "overdue", item, at_ms)

    def told(self, key: str) -> bool:
        row = self.store.db.reader().execute("SELECT 1 FROM work_notices WHERE key = ?", (key,))
        return row.fetchone() is not None

    def _tell(self, key: str, kind: str, item: WorkItem, at_ms: int) -> bool:
        rows = self.outgoing(key, kind, item, at_ms)
        with self.store.db.transaction() as conn:
            fresh = conn.execute(
                "INSERT OR IGNORE INTO work_notices (key, item_id, at_ms) VALUES (?, ?, ?)",
                (key, item.id, at_ms),
            ).rowcount
            if fresh:
                put_outgoing(conn, 0, at_ms, rows)
        if fresh and rows:
            self.wake()
        return bool(fresh)

    def outgoing(self, key: str, kind: str, item: WorkItem, at_ms: int) -> list[Outgoing]:
        severity = SEVERITY_OF.get(item.priority, "warning")
        hooks = [w for w in self.webhooks() if w.wants("alert.firing", severity, "")]
        chosen = self.policy.channels_for(
            WORK_RULE, severity, "", hooks, escalating=kind == "overdue"
        )
        body = msgspec.json.encode(self.body(kind, item, at_ms)).decode()
        due = self.policy.due_ms(severity, at_ms)
        event = f"work.{kind}"
        return [
            Outgoing(w.id, f"msg_{key}", event, body, f"{key}.{w.id}", f"work|{kind}", due)
            for w in chosen
        ]

    def body(self, kind: str, item: WorkItem, at_ms: int) -> dict[str, Any]:
        """The Standard Webhooks shaped body, with the words the robots show."""
        en = self.policy.language == "en"
        link = f"{self.dashboard_url}/work?item={quote(str(item.id))}"
        head = KIND_WORDS[kind][1 if en else 0]
        title = f"【{head}】#{item.id} {item.title}"
        lines = [
            f"{'Category' if en else '类别'}: {item.category}",
            f"{'Status' if en else '状态'}: {status_word(item.status, self.policy.language)}",
            f"{'Priority' if en else '优先级'}: {item.priority}",
        ]
        if item.department or item.assignee:
            who = " / ".join(x for x in (item.department, item.assignee) if x)
            lines.append(f"{'Assigned to' if en else '负责'}: {who}")
        if item.due_ms is not None:
            lines.append(f"{'Due' if en else '期限'}: {local_time(item.due_ms, self.time_zone)}")
        lines.append(f"{'Details' if en else '查看'}: {link}")
        data = {
            "id": item.id,
            "item": msgspec.to_builtins(item),
            "severity": SEVERITY_OF.get(item.priority, "warning"),
            "rule_name": head,
            "title": title,
            "lines": lines,
            "summary": f"#{item.id} {item.title}",
            "link": link,
        }
        return {"type": f"work.{kind}", "timestamp": format_ms(at_ms), "data": data}
