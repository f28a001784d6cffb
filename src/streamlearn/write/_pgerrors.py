"""Which PostgreSQL errors are worth waiting for, and which stop the run at once.

A server that is away (connection refused, restarting, shutting down, out of connection
slots for a moment) comes back: the sink raises
:class:`~streamlearn.core.errors.SinkUnavailable` and the run pauses and retries
(:mod:`streamlearn.runtime.backpressure`). A login the server refuses does not fix
itself: a wrong password or user, a database that does not exist, a role without the
right to connect or to write the table. Waiting ``retry_for`` (a minute by default) for
it only delays the one line the user needs, so the sink raises a
:class:`~streamlearn.core.errors.ConfigError` naming the database at once.

The classification goes by SQLSTATE where there is one, with one gap libpq leaves: an
error while *connecting* carries no SQLSTATE. libpq reads the server's ``FATAL`` answer
(``28P01`` wrong password, ``28000`` no ``pg_hba.conf`` entry or unknown role, ``3D000``
unknown database, ``42501`` no CONNECT privilege, ``53300`` too many connections,
``57P03`` starting up) but keeps its code to itself and psycopg's
``OperationalError.sqlstate`` is ``None``. So a failed login is sorted in three steps:

1. **The server's words for "not now"** (:func:`busy_login`): ``53300`` (*sorry, too
   many clients already*, *too many connections for role/database "..."*, *remaining
   connection slots are reserved for ...*) and ``57P03`` (*the database system is
   starting up / shutting down / in recovery mode / not yet accepting connections*).
   The server is up and answers, so ``PQping`` says OK for ``53300`` (and for a
   ``57P03`` it may no longer see by the time it asks); only the text tells them from a
   refusal. These are away: the caller waits with back-off, and when ``retry_for`` runs
   out the run stops with the server's own words ("too many connections for role ..."),
   nothing committed.
2. **``PQping``**, built on that private code: *no response* (nothing listens: away) or
   *reject* (``57P03``: away).
3. **Ping says OK**: the server is up and accepts connections, so this login was
   refused. It is tried once more (the server may have just come up between the two)
   and, refused again, is a ``ConfigError``.

The texts are the server's English ones (PostgreSQL's sources). A server whose
``lc_messages`` translates them is not recognised in step 1 and falls back to steps 2
and 3: a too-many-clients login then stops the run with one line in the server's
language, as before this check; nothing was committed, so a restart loses nothing.

Examples
--------
>>> import psycopg
>>> refusal(psycopg.errors.InvalidPassword()), refusal(psycopg.errors.AdminShutdown())
(True, False)
>>> busy_login('FATAL:  too many connections for role "app"')
True
>>> busy_login('FATAL:  password authentication failed for user "app"')
False
>>> errors = psycopg.errors
>>> retriable(psycopg, errors.AdminShutdown()), retriable(psycopg, errors.UndefinedColumn())
(True, False)
"""

from __future__ import annotations

import re
from typing import Any

from streamlearn.core.errors import ConfigError
from streamlearn.write._pgdsn import _first_line

#: SQLSTATE classes and codes of a refused login or missing right: not retried
REFUSED_CLASSES = ("28", "3D")  # invalid authorization specification, invalid catalog name
REFUSED_CODES = ("42501",)  # insufficient privilege

#: the server's (English) messages of a login refused for now: 53300 too many
#: connections, 57P03 cannot connect now (starting up, shutting down, recovering)
BUSY_LOGIN = re.compile(
    r"sorry, too many clients already"
    r"|too many connections for (role|database) "
    r"|remaining connection slots are reserved"
    r"|the database system is (starting up|shutting down|in recovery mode"
    r"|not yet accepting connections|not accepting connections)"
)


def refusal(exc: Exception) -> bool:
    """``exc`` (a psycopg error) says this login or role may not do this, by SQLSTATE."""
    state = getattr(exc, "sqlstate", None) or ""
    return state[:2] in REFUSED_CLASSES or state in REFUSED_CODES


def busy_login(message: str) -> bool:
    """``message`` (a failed connection's text) is the server saying "not now": out of
    connection slots or not accepting connections yet. By text, as libpq keeps the
    SQLSTATE of a failed login to itself (module docstring)."""
    return BUSY_LOGIN.search(message) is not None


def retriable(psycopg: Any, exc: Exception) -> bool:
    """The server is away or busy for now (after the connection was made): a broken
    connection, a restart, a serialization failure or deadlock; not a refusal."""
    if refusal(exc):
        return False
    return isinstance(
        exc,
        (
            psycopg.OperationalError,
            psycopg.InterfaceError,
            psycopg.errors.SerializationFailure,
            psycopg.errors.DeadlockDetected,
        ),
    )


def refused(target: str, exc: Exception, dsn: str) -> ConfigError:
    """The one line a refused login or missing right stops the run with."""
    return ConfigError(
        f"to_postgres: {target} refused (not retried; check the dsn's user, password and "
        f"database, and the role's rights): {_first_line(exc, dsn)}"
    )


def _server_up(psycopg: Any, dsn: str) -> bool:
    """``PQping``: the server answers and accepts connections (not away, not starting).
    A short timeout: no answer in time is "away", the side that waits and loses nothing."""
    pq = psycopg.pq
    conninfo = psycopg.conninfo.make_conninfo(dsn, connect_timeout=3)
    return bool(pq.PGconn.ping(conninfo.encode()) == pq.Ping.OK)


def connect(psycopg: Any, dsn: str, *, target: str, timeout: int = 10, **kwargs: Any) -> Any:
    """``psycopg.connect``, raising :class:`ConfigError` for a login the server refuses
    (see the module's docstring) and psycopg's error for anything else."""
    for last in (False, True):
        try:
            return psycopg.connect(dsn, connect_timeout=timeout, **kwargs)
        except psycopg.OperationalError as exc:
            if refusal(exc):
                raise refused(target, exc, dsn) from None
            if exc.sqlstate is not None or busy_login(str(exc)) or not _server_up(psycopg, dsn):
                raise  # away, busy (or classified by its SQLSTATE): the caller's retry
            if last:
                raise refused(target, exc, dsn) from None
    raise AssertionError("unreachable")  # pragma: no cover


__all__ = ["BUSY_LOGIN", "busy_login", "connect", "refusal", "refused", "retriable"]
