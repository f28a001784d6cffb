"""The web app: one page, its shipped assets, a JSON state and a server-sent-events feed.

Routes (all behind the token gate when a token is set):

- ``/``: the board (``static/index.html``);
- ``/static/...``: the page's script, styles and the vendored uPlot (MIT) - no CDN;
- ``/api/state?since=SEQ``: the rows newer than ``SEQ`` and the current view, as JSON;
- ``/events?since=SEQ``: the same, pushed as server-sent events (``event: update``)
  whenever the history moves, and at least every few seconds (the feed's status).

With series panels (:mod:`streamlearn.dashboard.series`), every update also carries
``series``: per output topic the buckets changed since this event stream last sent
them (all of them in its first update and in ``/api/state``).

The token travels as ``Authorization: Bearer``, a ``token`` query parameter or a cookie:
opening ``/?token=...`` once sets an HTTP-only cookie and redirects to ``/`` so the token
leaves the address bar (``EventSource`` cannot send headers, the cookie it can).
"""

from __future__ import annotations

import asyncio
import hmac
import html
import ipaddress
import threading
from collections.abc import Sequence
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from streamlearn.core.errors import ConfigError
from streamlearn.dashboard.history import MetricsHistory
from streamlearn.dashboard.series import SeriesBuffer

__all__ = ["check_bind", "create_app", "is_loopback"]

STATIC = Path(__file__).parent / "static"
_COOKIE = "streamlearn_dashboard"


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine.

    Examples
    --------
    >>> is_loopback("127.0.0.1"), is_loopback("127.0.0.2"), is_loopback("::1")
    (True, True, True)
    >>> is_loopback("localhost"), is_loopback("0.0.0.0"), is_loopback("example.org")
    (True, False, False)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def check_bind(host: str, token: str | None) -> None:
    """Refuse to serve the board beyond loopback without a token.

    Examples
    --------
    >>> check_bind("127.0.0.1", None)
    >>> check_bind("0.0.0.0", "s3cret")
    >>> try:
    ...     check_bind("0.0.0.0", None)
    ... except ConfigError as exc:
    ...     print(exc)
    the dashboard on 0.0.0.0 is reachable from other machines: pass --token (or bind 127.0.0.1)
    """
    if token is not None and not token.strip():
        raise ConfigError("the dashboard token is empty")
    if not is_loopback(host) and token is None:
        raise ConfigError(
            f"the dashboard on {host} is reachable from other machines: "
            "pass --token (or bind 127.0.0.1)"
        )


def create_app(
    history: MetricsHistory,
    *,
    name: str,
    token: str | None = None,
    push_interval: float = 0.5,
    stopping: threading.Event | None = None,
    series: Sequence[SeriesBuffer] = (),
) -> Any:
    """The ASGI app of the board for the pipeline ``name``.

    Examples
    --------
    >>> app = create_app(MetricsHistory(), name="s1", token="t")
    >>> type(app).__name__
    '_TokenGate'
    """
    stopping = stopping or threading.Event()
    page = (STATIC / "index.html").read_text().replace("{{name}}", html.escape(name))

    async def index(request: Request) -> Response:
        return HTMLResponse(page, headers={"Cache-Control": "no-store"})

    async def state(request: Request) -> Response:
        d = history.delta(_since(request))
        d["name"] = name
        d["series"] = [b.delta(0) for b in series]
        return Response(orjson.dumps(d), media_type="application/json")

    async def events(request: Request) -> Response:
        since = _since(request)

        async def stream() -> Any:
            last, quiet = since, 1e9
            seen = [0] * len(series)  # a new stream gets every bucket once
            yield "retry: 2000\n\n"
            while not stopping.is_set() and not await request.is_disconnected():
                moved = any(b.seq != n for b, n in zip(series, seen, strict=True))
                if history.seq != last or moved or quiet >= 3.0:
                    d = history.delta(last)
                    d["name"] = name
                    d["series"] = [b.delta(n) for b, n in zip(series, seen, strict=True)]
                    seen = [s["seq"] for s in d["series"]]
                    last, quiet = d["seq"], 0.0
                    yield f"event: update\ndata: {orjson.dumps(d).decode()}\n\n"
                await asyncio.sleep(push_interval)
                quiet += push_interval

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    app = Starlette(
        routes=[
            Route("/", index),
            Route("/api/state", state),
            Route("/events", events),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ]
    )
    return _TokenGate(app, token)


def _since(request: Request) -> int:
    try:
        return max(0, int(request.query_params.get("since", "0")))
    except ValueError:
        return 0


class _TokenGate:
    """ASGI middleware: 401 unless the request carries the token (when there is one)."""

    def __init__(self, app: Any, token: str | None) -> None:
        self.app = app
        self._token = token.encode() if token else None

    def __repr__(self) -> str:  # never the token
        return f"_TokenGate(token={'***' if self._token else None})"

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or self._token is None:
            await self.app(scope, receive, send)
            return
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        from_query = (query.get("token") or [""])[0]
        if self._ok(_bearer(scope)) or self._ok(_cookie(scope)):
            await self.app(scope, receive, send)
        elif self._ok(from_query) and scope["path"] == "/":
            # keep it in an HTTP-only cookie, take it out of the address bar
            cookie = f"{_COOKIE}={quote(from_query, safe='')}; HttpOnly; SameSite=Strict; Path=/"
            await _send(send, 303, b"", [(b"location", b"/"), (b"set-cookie", cookie.encode())])
        elif self._ok(from_query):
            await self.app(scope, receive, send)
        else:
            await _send(
                send,
                401,
                b"streamlearn dashboard: token required "
                b"(open /?token=... or send Authorization: Bearer ...)\n",
                [(b"content-type", b"text/plain"), (b"www-authenticate", b"Bearer")],
            )

    def _ok(self, given: str) -> bool:
        return (
            bool(given)
            and self._token is not None
            and hmac.compare_digest(given.encode(), self._token)
        )


def _headers(scope: Any, name: bytes) -> list[str]:
    return [v.decode("latin-1") for k, v in scope.get("headers", []) if k == name]


def _bearer(scope: Any) -> str:
    for value in _headers(scope, b"authorization"):
        kind, _, cred = value.partition(" ")
        if kind.lower() == "bearer":
            return cred.strip()
    return ""


def _cookie(scope: Any) -> str:
    for value in _headers(scope, b"cookie"):
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(value)
        except Exception:
            continue
        if _COOKIE in jar:
            return unquote(jar[_COOKIE].value)
    return ""


async def _send(send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
