"""Connection strings of the PostgreSQL sink: masked for reprs, logs and messages."""

from __future__ import annotations

import re
from typing import Any

from streamlearn.core.errors import ConfigError

_SECRET = re.compile(
    r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)|(://[^:/@\s]*:)([^@\s]*)(@)", re.IGNORECASE
)


def mask_dsn(dsn: str) -> str:
    """The DSN with its password replaced by ``***`` (for reprs, logs and errors).

    >>> mask_dsn("postgresql://app:s3cret@db:5432/prod")
    'postgresql://app:***@db:5432/prod'
    >>> mask_dsn("host=db user=app password='a b' dbname=prod")
    'host=db user=app password=*** dbname=prod'
    """

    def sub(m: re.Match[str]) -> str:
        return f"{m[1]}***" if m[1] else f"{m[3]}***{m[5]}"

    return _SECRET.sub(sub, dsn)


def _where(psycopg: Any, dsn: str) -> str:
    """host:port/dbname of a DSN, for messages (never the password)."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        raise ConfigError(f"to_postgres: invalid dsn {mask_dsn(dsn)!r}") from None
    return (
        f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/"
        f"{info.get('dbname', info.get('user', 'postgres'))}"
    )


def _first_line(exc: Exception, dsn: str) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    password = re.search(r"password\s*=\s*'?([^'\s]+)|://[^:/@\s]*:([^@\s]+)@", dsn)
    if password:
        secret = password[1] or password[2]
        text = text.replace(secret, "***")
    return text
