"""Bounded retries with back-off for the flushes of database sinks.

A database restart or a dropped connection should cost a pause, not a run: the flush is
tried again with exponential back-off (with jitter) until ``retry_for`` seconds have
passed. The sink keeps its buffer until an attempt succeeds, so no row is lost; when the
time runs out the error is raised and the checkpoint commits nothing, so the rows are
read again after a restart. Every retry is logged, with the target's safe description
(never a password or token).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from streamlearn.core.errors import OperatorError

T = TypeVar("T")
log = logging.getLogger("streamlearn.write")


class _Retriable(Exception):
    """Raised by an attempt for an error worth trying again (target away, restarting)."""


def _with_backoff(
    attempt: Callable[[], T],
    *,
    step: str,
    target: str,
    retry_for: float,
    first_delay: float = 0.1,
    max_delay: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``attempt`` until it returns, retrying on :class:`_Retriable` for ``retry_for`` s.

    >>> calls = []
    >>> def flaky():
    ...     calls.append(1)
    ...     if len(calls) < 3:
    ...         raise _Retriable("connection refused")
    ...     return "ok"
    >>> _with_backoff(flaky, step="s", target="db", retry_for=5, sleep=lambda s: None)
    'ok'
    >>> len(calls)
    3
    """
    deadline = time.monotonic() + retry_for
    delay = first_delay
    tries = 0
    while True:
        tries += 1
        try:
            return attempt()
        except _Retriable as exc:
            left = deadline - time.monotonic()
            if left <= 0:
                raise OperatorError(
                    f"{target} still unavailable after {tries} attempts over "
                    f"{retry_for:g} s: {exc}; nothing was committed, the rows are read "
                    f"again on restart",
                    operator=step,
                ) from None
            pause = min(delay * (0.5 + random.random()), max_delay, left)
            log.warning(
                "step %r: %s unavailable (%s); retry %d in %.2f s", step, target, exc, tries, pause
            )
            sleep(pause)
            delay = min(delay * 2, max_delay)
