"""Serving the board: the metrics feed thread plus uvicorn, in the foreground or a thread."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from streamlearn.core.errors import ConfigError
from streamlearn.core.extras import require
from streamlearn.dashboard.feed import MetricsFeed
from streamlearn.dashboard.history import MetricsHistory
from streamlearn.dashboard.series import SeriesBuffer, SeriesFeed, SeriesSpec, parse_series
from streamlearn.kafka.config import KafkaConfig

__all__ = ["Dashboard", "serve_dashboard"]

log = logging.getLogger("streamlearn.dashboard")


class Dashboard:
    """The live board of the pipeline ``name``: reads ``<name>.metrics`` and serves a page.

    The address is checked when the board is made: beyond loopback a ``token`` is
    required (:func:`~streamlearn.dashboard.app.check_bind`). ``start()`` runs it in
    threads (tests, notebooks, ``streamlearn demo``), ``run()`` in the foreground until
    Ctrl-C.

    Parameters
    ----------
    kafka : KafkaConfig
        The cluster of the pipeline.
    name : str
        The pipeline name (``RunOptions.name``, ``streamlearn run --name``).
    host, port : str, int
        Where to listen; port 0 picks a free one (see :attr:`url`).
    token : str or None
        Required on every request when set; mandatory beyond loopback.
    minutes : float
        History shown: the feed is read from this many minutes back and charts keep as
        much.
    topic : str or None
        The metrics topic when the run set ``RunOptions.metrics_topic`` (default
        ``<name>.metrics``).
    series : sequence of str or SeriesSpec
        Output topics to plot over time, ``"TOPIC:COLUMN[,COLUMN...][@TIME_COLUMN]"``
        (:func:`~streamlearn.dashboard.series.parse_series`): one panel each, the last
        ``minutes`` of the series' clock in at most ``points`` buckets.

    Examples
    --------
    >>> from streamlearn.kafka.config import KafkaConfig
    >>> board = Dashboard(KafkaConfig("127.0.0.1:9092"), "s1", port=0)
    >>> board.topic, board.host
    ('s1.metrics', '127.0.0.1')
    """

    def __init__(
        self,
        kafka: KafkaConfig,
        name: str,
        *,
        host: str = "127.0.0.1",
        port: int = 8050,
        token: str | None = None,
        minutes: float = 15.0,
        topic: str | None = None,
        series: Sequence[str | SeriesSpec] = (),
        points: int = 600,
    ) -> None:
        # the extra first: the app module imports Starlette at the top
        require("starlette", extra="dashboard", feature="streamlearn dashboard")
        require("uvicorn", extra="dashboard", feature="streamlearn dashboard")
        from streamlearn.dashboard.app import check_bind

        check_bind(host, token)
        if minutes <= 0:
            raise ConfigError("minutes must be > 0")
        specs = [parse_series(s) for s in series]
        self.kafka, self.name, self.host, self.port = kafka, name, host, port
        self.topic = topic or f"{name}.metrics"
        self._token = token
        self.history = MetricsHistory(seconds=minutes * 60)
        self.feed = MetricsFeed(kafka, self.topic, self.history, minutes=minutes)
        self.series = [SeriesBuffer(s, seconds=minutes * 60, points=points) for s in specs]
        self.series_feeds = [SeriesFeed(kafka, b, minutes=minutes) for b in self.series]
        self._stopping = threading.Event()
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None

    def __repr__(self) -> str:
        return f"Dashboard(name={self.name!r}, url={self.url!r})"

    @property
    def url(self) -> str:
        """Where the board is (the port the socket really has once listening)."""
        port = self._sock.getsockname()[1] if self._sock is not None else self.port
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{port}/"

    def _prepare(self) -> Any:
        require("starlette", extra="dashboard", feature="streamlearn dashboard")
        uvicorn = require("uvicorn", extra="dashboard", feature="streamlearn dashboard")
        from streamlearn.dashboard.app import create_app

        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise ConfigError(
                f"the dashboard cannot listen on {self.host}:{self.port}: {exc.strerror or exc}"
            ) from None
        sock.listen(64)
        self._sock = sock
        app = create_app(
            self.history,
            name=self.name,
            token=self._token,
            stopping=self._stopping,
            series=self.series,
        )
        # no access log: a token given as ?token= would land in it
        config = uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=3
        )
        self._server = uvicorn.Server(config)
        self.feed.start()
        for f in self.series_feeds:
            f.start()
        return self._server

    def start(self, timeout: float = 15.0) -> Dashboard:
        """Serve in background threads; returns once the server accepts connections."""
        server = self._prepare()
        self._thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [self._sock]},
            name="sl-dashboard-http",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        if not server.started:
            self.stop()
            raise ConfigError(f"the dashboard did not start on {self.url}")
        log.info("dashboard of %s on %s", self.name, self.url)
        return self

    def run(self, on_listening: Callable[[str], None] | None = None) -> None:
        """Serve in the foreground until Ctrl-C (uvicorn handles the signals);
        ``on_listening(url)`` is called once the socket is bound."""
        server = self._prepare()
        if on_listening is not None:
            on_listening(self.url)
        try:
            server.run(sockets=[self._sock])
        finally:
            self._stopping.set()
            self._stop_feeds()
            self._close()

    def stop(self) -> None:
        """Stop serving and reading (open event streams end within a second)."""
        self._stopping.set()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        self._stop_feeds()
        self._close()

    def _stop_feeds(self) -> None:
        for f in [self.feed, *self.series_feeds]:
            f._stop.set()
        for f in [self.feed, *self.series_feeds]:
            f.stop()

    def _close(self) -> None:
        if self._sock is not None:
            self._sock.close()

    def __enter__(self) -> Dashboard:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_dashboard(
    kafka: KafkaConfig,
    name: str,
    host: str = "127.0.0.1",
    port: int = 8050,
    token: str | None = None,
    *,
    minutes: float = 15.0,
    topic: str | None = None,
    series: Sequence[str | SeriesSpec] = (),
) -> None:
    """Serve the live board of the pipeline ``name`` until Ctrl-C.

    Reads ``<name>.metrics`` (the runtime's metrics feed) from ``minutes`` back and shows
    throughput, latency, lag per partition, model figures and k-means centroids at
    ``http://host:port/``, and the ``series`` of output topics over time
    (``"example_2:Temperature,prediction"``). Beyond loopback a ``token`` is required.

    Examples
    --------
    >>> from streamlearn.kafka.config import KafkaConfig
    >>> try:
    ...     serve_dashboard(KafkaConfig("127.0.0.1:9092"), "s1", host="0.0.0.0")
    ... except ConfigError as exc:
    ...     print(exc)
    the dashboard on 0.0.0.0 is reachable from other machines: pass --token (or bind 127.0.0.1)
    """
    board = Dashboard(
        kafka, name, host=host, port=port, token=token, minutes=minutes, topic=topic, series=series
    )
    board.run(lambda url: log.info("dashboard of %s on %s", name, url))
