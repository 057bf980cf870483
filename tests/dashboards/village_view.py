"""What the dashboard tests work with: the running village and a watched browser page."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import FastAPI
from integration.harness import Publisher
from playwright.sync_api import Page

from village_brain.service import Service
from village_brain.simulator import SimDevice


@dataclass
class Village:
    service: Service
    url: str
    app: FastAPI
    devices: list[SimDevice]
    publisher: Publisher

    def device(self, kind: str) -> SimDevice:
        return next(d for d in self.devices if d.kind == kind)


@dataclass
class WatchedPage:
    page: Page
    errors: list[str] = field(default_factory=list)
