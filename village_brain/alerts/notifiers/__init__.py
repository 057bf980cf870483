"""One notifier per channel kind, in one table: a new kind is a new module and a row here."""

from __future__ import annotations

from village_brain.alerts.notifiers.base import Notifier
from village_brain.alerts.notifiers.dingtalk import DingTalk
from village_brain.alerts.notifiers.feishu import Feishu
from village_brain.alerts.notifiers.standard import Standard
from village_brain.alerts.notifiers.wecom import WeCom

NOTIFIERS: dict[str, Notifier] = {n.kind: n for n in (Standard(), DingTalk(), WeCom(), Feishu())}
