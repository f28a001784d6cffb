"""The one place that creates librdkafka clients.

librdkafka checks every setting when a client is created and raises a
``KafkaException(_INVALID_ARG)`` for an unknown key or a bad value; reached from a
``-X key=value`` option that was a 77-line traceback. Here it becomes a one-line
:class:`~streamlearn.core.errors.ConfigError` naming the setting (its value too, unless
the key looks secret).

Examples
--------
>>> try:
...     make_producer({"bootstrap.servers": "127.0.0.1:1", "no.such.setting": 1})
... except ConfigError as exc:
...     print(exc)
bad Kafka client setting: no such setting 'no.such.setting'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from streamlearn.core.errors import ConfigError

__all__ = ["make_admin", "make_consumer", "make_producer"]

_SECRET = re.compile(r"password|secret|token|\.key\b|key\.pem", re.I)


def _settings(
    config: Any, kind: str, group_id: str | None = None, **overrides: Any
) -> dict[str, Any]:
    if isinstance(config, Mapping):
        conf = dict(config)
        conf.update(overrides)
        return conf
    if kind == "consumer":
        return config.consumer_config(group_id, **overrides)
    if kind == "producer":
        return config.producer_config(**overrides)
    conf = config.admin_config()
    conf.update(overrides)
    return conf


def _translated(exc: Exception, conf: Mapping[str, Any]) -> ConfigError:
    err = exc.args[0] if exc.args else exc
    text = err.str() if hasattr(err, "str") else str(err)
    m = re.search(r'No such configuration property: "([^"]+)"', text)
    if m:
        return ConfigError(f"bad Kafka client setting: no such setting {m.group(1)!r}")
    m = re.search(r'configuration property "([^"]+)"', text)
    if m:
        key = m.group(1)
        shown = "" if _SECRET.search(key) or key not in conf else f" {conf[key]!r}"
        return ConfigError(f"bad Kafka client setting: invalid value{shown} for {key!r}")
    text = text.removeprefix("Failed to create consumer: ")
    return ConfigError(f"bad Kafka client setting: {text}")


def _create(cls: Any, conf: dict[str, Any]) -> Any:
    from confluent_kafka import KafkaException

    try:
        return cls(conf)
    except (KafkaException, ValueError, TypeError) as exc:
        raise _translated(exc, conf) from None


def make_consumer(config: Any, group_id: str | None = None, **overrides: Any) -> Any:
    """A ``confluent_kafka.Consumer`` from a KafkaConfig (or a ready settings dict).

    Parameters
    ----------
    config
        A :class:`~streamlearn.kafka.config.KafkaConfig` (its ``consumer_config`` is
        used) or a mapping of librdkafka settings.
    group_id, overrides
        Passed to ``KafkaConfig.consumer_config`` (overrides win).

    Raises
    ------
    ConfigError
        One line naming the setting librdkafka rejected.

    Examples
    --------
    >>> from streamlearn.kafka.config import KafkaConfig
    >>> c = make_consumer(KafkaConfig(bootstrap_servers="127.0.0.1:1"), "g")
    >>> c.close()
    """
    from confluent_kafka import Consumer

    return _create(Consumer, _settings(config, "consumer", group_id, **overrides))


def make_producer(config: Any, **overrides: Any) -> Any:
    """A ``confluent_kafka.Producer`` (see :func:`make_consumer`).

    Examples
    --------
    >>> from streamlearn.kafka.config import KafkaConfig
    >>> p = make_producer(KafkaConfig(bootstrap_servers="127.0.0.1:1"))
    """
    from confluent_kafka import Producer

    return _create(Producer, _settings(config, "producer", **overrides))


def make_admin(config: Any, **overrides: Any) -> Any:
    """A ``confluent_kafka.admin.AdminClient`` (see :func:`make_consumer`).

    Examples
    --------
    >>> from streamlearn.kafka.config import KafkaConfig
    >>> a = make_admin(KafkaConfig(bootstrap_servers="127.0.0.1:1"))
    """
    from confluent_kafka.admin import AdminClient

    return _create(AdminClient, _settings(config, "admin", **overrides))
