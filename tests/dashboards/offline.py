"""A browser context that works as on a village LAN with no internet: every request to a host
other than the server is refused, and noted so the test can fail on it."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, Route


def keep_offline(context: BrowserContext, server_url: str) -> list[str]:
    """The list of refused requests' URLs, filled in as the pages try them."""
    own = urlsplit(server_url).netloc
    foreign: list[str] = []

    def check(route: Route) -> None:
        url = urlsplit(route.request.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.netloc != own:
            foreign.append(route.request.url)
            route.abort("internetdisconnected")
        else:
            route.continue_()

    context.route("**/*", check)
    return foreign
