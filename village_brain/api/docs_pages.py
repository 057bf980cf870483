"""/docs and /redoc from files shipped in the fastapi-offline package, for servers without
internet. A Content-Security-Policy keeps the pages to this server: ReDoc's own logo, which it
would fetch from the internet, is blocked and hidden instead."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html
from fastapi.responses import HTMLResponse
from starlette.types import ASGIApp, Receive, Scope, Send

# fastapi-offline mounts its files here (its default).
DOCS_STATIC = "/static-offline-docs"
DOCS_PAGES = frozenset({"/docs", "/redoc"})
# Swagger UI starts from an inline script; both draw with inline styles.
POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'"
)
_NO_LOGO = "<style>a[href*='redocly.com'] { display: none; }</style>"


def add_redoc(app: FastAPI) -> None:
    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{DOCS_STATIC}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{DOCS_STATIC}/favicon.png",
            with_google_fonts=False,
        )
        html = bytes(page.body).decode().replace("</head>", f"{_NO_LOGO}</head>", 1)
        return HTMLResponse(html)


class DocsPolicy:
    """Adds the policy to the two docs pages' answers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in DOCS_PAGES:
            await self.app(scope, receive, send)
            return

        async def with_policy(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", [])]
                headers.append((b"content-security-policy", POLICY.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_policy)
