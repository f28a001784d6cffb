"""Exponential back-off with jitter, and waiting in place for a sink whose target is away.

A sink's ``flush`` makes one attempt and raises
:class:`~streamlearn.core.errors.SinkUnavailable` when its database is away; who waits is
the caller's choice. The Kafka runtime pauses its partitions and keeps polling
(:mod:`streamlearn.runtime.backpressure`), so the consumer stays in its group; an offline
caller (``Context.flush_sinks``, a script) has nothing to keep alive and simply sleeps
between attempts with :func:`flush_waiting`. Both use :class:`Backoff`, so the two wait
the same way: 0.1 s doubling to 5 s, each delay jittered by ±50 % so many workers that
lost the same database do not come back at the same instant.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from streamlearn.core.errors import OperatorError, SinkUnavailable

log = logging.getLogger("streamlearn.write")


@dataclass
class Backoff:
    """Delays between attempts: ``first``, doubling up to ``most``, jittered.

    >>> b = Backoff(first=1.0, most=4.0, jitter=0.0)
    >>> [b.next() for _ in range(4)]
    [1.0, 2.0, 4.0, 4.0]
    >>> b.reset(); b.next()
    1.0
    """

    first: float = 0.1
    most: float = 5.0
    jitter: float = 0.5
    _delay: float = field(default=0.0, init=False, repr=False)

    def next(self) -> float:
        """The delay before the next attempt."""
        self._delay = self.first if not self._delay else min(self._delay * 2, self.most)
        spread = 1 + self.jitter * (2 * random.random() - 1)
        return min(self._delay * spread, self.most)

    def reset(self) -> None:
        """An attempt succeeded: the next outage starts from ``first`` again."""
        self._delay = 0.0


def gave_up(exc: SinkUnavailable, attempts: int, waited: float) -> OperatorError:
    """The error a run stops with once a sink's ``retry_for`` ran out."""
    return OperatorError(
        f"{exc.target} still unavailable after {attempts} attempts over {waited:.0f} s "
        f"(retry_for={exc.retry_for:g}): {exc.reason}; nothing was committed, the rows "
        f"are read again on restart",
        operator=exc.operator,
    )


def flush_waiting(
    flush: Callable[[], None],
    *,
    backoff: Backoff | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Call ``flush`` until it returns, sleeping with back-off while it raises
    :class:`SinkUnavailable`, for at most the ``retry_for`` the sink gives.

    >>> tries = []
    >>> def flaky():
    ...     tries.append(1)
    ...     if len(tries) < 3:
    ...         raise SinkUnavailable("connection refused", target="db", retry_for=5)
    >>> flush_waiting(flaky, sleep=lambda s: None)
    >>> len(tries)
    3
    """
    backoff = backoff or Backoff()
    started, attempts = time.monotonic(), 0
    while True:
        attempts += 1
        try:
            flush()
            return
        except SinkUnavailable as exc:
            waited = time.monotonic() - started
            left = exc.retry_for - waited
            if left <= 0:
                raise gave_up(exc, attempts, waited) from None
            pause = min(backoff.next(), left)
            log.warning(
                "step %r: %s unavailable (%s); retry %d in %.2f s",
                exc.operator,
                exc.target,
                exc.reason,
                attempts,
                pause,
            )
            sleep(pause)


__all__ = ["Backoff", "flush_waiting", "gave_up"]
