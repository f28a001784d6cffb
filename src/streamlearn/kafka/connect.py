"""Reaching the cluster: librdkafka's log lines through Python logging, one-line
connection errors, and visible group joins.

Without a ``logger`` setting librdkafka writes every failed connection attempt to stderr
itself, several per second per client: an unreachable bootstrap address printed
200-300 ``Connect ... failed`` lines before the real error. Every client streamlearn
makes gets :func:`librdkafka_logger` instead (see :meth:`KafkaConfig._common
<streamlearn.kafka.config.KafkaConfig>`): the lines become records of the logger
``streamlearn.kafka.librdkafka``, repeats of the same line are dropped for a minute and
then summarised, and nothing reaches stderr unless the application configured logging.

:func:`check_reachable` asks the cluster for its topic list once, with a few seconds'
patience, and turns what librdkafka reported on the way into one line.

Examples
--------
>>> import logging
>>> librdkafka_logger().name
'streamlearn.kafka.librdkafka'
>>> _classify(["127.0.0.1:1/bootstrap: Connect to ipv4#127.0.0.1:1 failed: "
...            "Connection refused (after 0ms in state CONNECT)"], "_TRANSPORT")
'connection refused (is the broker running? streamlearn broker start)'
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Sequence
from typing import Any

from streamlearn.core.errors import BrokerError

__all__ = [
    "LIBRDKAFKA_LOGGER",
    "check_reachable",
    "librdkafka_logger",
    "log_assigned",
    "log_joining",
]

#: the logger that receives librdkafka's own log lines
LIBRDKAFKA_LOGGER = "streamlearn.kafka.librdkafka"
_REPEAT_WINDOW_S = 60.0
_log = logging.getLogger("streamlearn.kafka")


class _Deduplicate(logging.Filter):
    """Lets one line of each kind through per window; the next one after the window
    says how many were dropped. Kinds ignore numbers ("after 0ms", client names), so
    the reconnect loop of one unreachable broker is one kind."""

    def __init__(self, window: float = _REPEAT_WINDOW_S) -> None:
        super().__init__()
        self.window = window
        self._seen: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        kind = re.sub(r"\d+", "#", record.getMessage())
        now = time.monotonic()
        with self._lock:
            first, dropped = self._seen.get(kind, (None, 0))
            if first is not None and now - first < self.window:
                self._seen[kind] = (first, dropped + 1)
                return False
            if len(self._seen) > 1000:  # never grows without bound
                self._seen.clear()
            self._seen[kind] = (now, 0)
        if dropped:
            record.msg = f"{record.msg} ({dropped} similar lines dropped)"
        return True


def _make_logger() -> logging.Logger:
    logger = logging.getLogger(LIBRDKAFKA_LOGGER)
    if not any(isinstance(f, _Deduplicate) for f in logger.filters):
        logger.addFilter(_Deduplicate())
    # a library must not print by itself: without an application handler, Python's
    # last-resort handler would write WARNING lines to stderr
    root = logging.getLogger("streamlearn")
    if not any(isinstance(h, logging.NullHandler) for h in root.handlers):
        root.addHandler(logging.NullHandler())
    return logger


_LOGGER = _make_logger()


def librdkafka_logger() -> logging.Logger:
    """The logger given to every librdkafka client as its ``logger`` setting.

    confluent-kafka delivers these lines from ``poll()``/``consume()``/``flush()``, so
    they appear when the application next serves its client, not at once.

    Examples
    --------
    >>> librdkafka_logger() is librdkafka_logger()
    True
    """
    return _LOGGER


def log_joining(group: str, topics: Sequence[str]) -> None:
    """Log, at INFO, that a consumer subscribes and waits for its group to assign it
    partitions (seconds on the local broker, up to ``session.timeout.ms``/2 elsewhere:
    it must never look like a hang).

    Examples
    --------
    >>> log_joining("s1", ["trades"])
    """
    _log.info("joining group %s (topics %s) ...", group, ", ".join(topics))


def log_assigned(
    group: str, partitions: Sequence[tuple[str, int]], waited_s: float | None = None
) -> None:
    """Log, at INFO, the partitions a group join gave this member.

    Examples
    --------
    >>> log_assigned("s1", [("trades", 0), ("trades", 1)], 2.5)
    """
    shown = ", ".join(f"{t}[{p}]" for t, p in partitions) or "nothing"
    took = f" after {waited_s:.1f} s" if waited_s is not None else ""
    _log.info("assigned %s in group %s%s", shown, group, took)


_REFUSED = re.compile(r"connection refused", re.I)
_RESOLVE = re.compile(r"failed to resolve '([^']*)'", re.I)


def _classify(lines: Sequence[str], code: str | None) -> str | None:
    """What went wrong, from librdkafka's error events/log lines (None: nothing known)."""
    text = "\n".join(lines)
    if code == "_AUTHENTICATION" or ("SASL" in text and "failed" in text):
        detail = next((ln for ln in lines if "SASL" in ln or "uthenticat" in ln), text)
        detail = re.sub(r"^\S+/bootstrap: ", "", detail.splitlines()[0])
        detail = re.sub(r" \(after \d+ms in state \w+\)", "", detail)
        return f"authentication failed: {detail} (check the SASL username, password and mechanism)"
    if code == "_SSL" or "SSL handshake failed" in text:
        return "TLS handshake failed (check ssl.ca.location and security.protocol)"
    if code == "_RESOLVE" or _RESOLVE.search(text):
        m = _RESOLVE.search(text)
        host = m.group(1).rsplit(":", 1)[0] if m else "?"
        return f"unknown host {host!r} (check the address)"
    if _REFUSED.search(text):
        return "connection refused (is the broker running? streamlearn broker start)"
    if code == "_BAD_MSG" or "Invalid response size" in text:
        return (
            "something answered, but not as a Kafka broker (wrong port, or a "
            "TLS/plaintext mismatch?)"
        )
    return None


def check_reachable(config: Any, timeout: float = 5.0) -> None:
    """Raise :class:`~streamlearn.core.errors.BrokerError` with one line unless the
    cluster answers a metadata request within ``timeout`` seconds.

    The reason is what librdkafka reported: connection refused, unknown host,
    authentication or TLS failure, a non-Kafka answer, or no answer at all. A refused
    connection or unknown host is reported as soon as it is seen (well under a second);
    only silence takes the whole ``timeout``. Nothing is logged or printed: librdkafka's
    lines are collected here, not forwarded.

    Parameters
    ----------
    config
        A :class:`~streamlearn.kafka.config.KafkaConfig`.
    timeout
        Seconds to wait for an answer.

    Examples
    --------
    >>> from streamlearn.kafka.config import KafkaConfig
    >>> try:
    ...     check_reachable(KafkaConfig(bootstrap_servers="127.0.0.1:1"), timeout=3)
    ... except BrokerError as exc:
    ...     print(str(exc).split(" (")[0])
    cannot reach Kafka at 127.0.0.1:1: connection refused
    """
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    from streamlearn.kafka.clients import make_admin

    lines: list[str] = []
    codes: list[str] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    collector = logging.Logger("streamlearn.kafka.check")  # not registered: no propagation
    collector.addHandler(_Collect())

    def on_error(err: Any) -> None:
        codes.append(err.name())
        lines.append(err.str())

    conf = dict(config.admin_config())
    conf.update({"logger": collector, "error_cb": on_error})
    admin: AdminClient = make_admin(conf)
    where = config.bootstrap_servers
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        try:
            admin.list_topics(timeout=max(0.05, min(0.5, left)))
            return
        except KafkaException:
            pass
        admin.poll(0)  # serves error_cb and the log lines
        code = next(
            (c for c in codes if c not in ("_ALL_BROKERS_DOWN", "_TRANSPORT")),
            codes[0] if codes else None,
        )
        reason = _classify(lines, code)
        if reason is not None:
            raise BrokerError(f"cannot reach Kafka at {where}: {reason}")
        if left <= 0:
            raise BrokerError(
                f"cannot reach Kafka at {where}: no answer within "
                f"{timeout:g} s (wrong address or port, a firewall, or TLS "
                f"settings that do not match the listener?)"
            )
