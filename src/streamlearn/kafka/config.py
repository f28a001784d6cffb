"""How to reach a Kafka cluster: a small frozen value object.

It turns into librdkafka settings for consumers, producers and admin clients, with the
throughput settings every streamlearn client wants (see LIBRARY-FACTS.md) and, for the
local development broker, the settings that make group joins take seconds instead of
half a minute. Secrets never appear in its repr.

Examples
--------
>>> cfg = KafkaConfig(bootstrap_servers="broker:9092", sasl_username="u", sasl_password="s3cret")
>>> "s3cret" in repr(cfg)
False
>>> cfg.consumer_config("g")["group.id"]
'g'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

#: consumer settings that pay off on any cluster (measured in LIBRARY-FACTS.md):
#: the default fetch.queue.backoff.ms=1000 stalls consume() for ~1 s whenever the local
#: queue fills. 50k prefetched records keep consume() fed (a 10 MB partition fetch adds
#: ~100k small records at a time); 200k cost S1 ~60 MB more RSS for no measurable speed.
CONSUMER_THROUGHPUT = {
    "fetch.queue.backoff.ms": 10,
    "fetch.max.bytes": 52_428_800,
    "max.partition.fetch.bytes": 10_485_760,
    "queued.min.messages": 50_000,
}
#: for the local broker: group joins take about half of session.timeout.ms there
LOCAL_CONSUMER = {"session.timeout.ms": 6000, "heartbeat.interval.ms": 500}


@dataclass(frozen=True)
class KafkaConfig:
    """Connection settings of one Kafka cluster.

    Parameters
    ----------
    bootstrap_servers
        ``host:port[,host:port...]``.
    security_protocol, sasl_mechanism, sasl_username, sasl_password, ssl_ca_location
        Authentication and TLS (librdkafka names). The password is never shown.
    client_options
        Any other librdkafka settings, applied last (they win).
    local
        True for the local development broker: fast group-join settings are added.
    """

    bootstrap_servers: str
    security_protocol: str | None = None
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)
    ssl_ca_location: str | None = None
    client_options: Mapping[str, Any] = field(default_factory=dict)
    local: bool = False

    @classmethod
    def for_local_broker(cls, bootstrap: str) -> KafkaConfig:
        """Settings for the local development broker (fast group joins)."""
        return cls(bootstrap_servers=bootstrap, local=True)

    def __repr__(self) -> str:
        shown = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "sasl_password":
                value = "***" if value else None
            if value not in (None, {}, False):
                shown.append(f"{f.name}={value!r}")
        return f"KafkaConfig({', '.join(shown)})"

    __str__ = __repr__

    def _common(self) -> dict[str, Any]:
        # a closed idle connection is routine, not worth a log line on stderr
        conf: dict[str, Any] = {"bootstrap.servers": self.bootstrap_servers,
                                "log.connection.close": False}
        for key, value in (("security.protocol", self.security_protocol),
                           ("sasl.mechanism", self.sasl_mechanism),
                           ("sasl.username", self.sasl_username),
                           ("sasl.password", self.sasl_password),
                           ("ssl.ca.location", self.ssl_ca_location)):
            if value is not None:
                conf[key] = value
        return conf

    def consumer_config(self, group_id: str | None, **overrides: Any) -> dict[str, Any]:
        """Settings of a consumer that stores no offsets by itself (streamlearn commits)."""
        conf = self._common()
        conf.update(CONSUMER_THROUGHPUT)
        conf.update({"enable.auto.commit": False, "enable.auto.offset.store": False,
                     "auto.offset.reset": "earliest"})
        if self.local:
            conf.update(LOCAL_CONSUMER)
        if group_id is not None:
            conf["group.id"] = group_id
        conf.update(_producer_only_removed(self.client_options))
        conf.update(overrides)
        return conf

    def producer_config(self, **overrides: Any) -> dict[str, Any]:
        """Settings of an idempotent producer tuned for batches (linger 5 ms)."""
        conf = self._common()
        conf.update({"enable.idempotence": True, "linger.ms": 5,
                     "batch.num.messages": 100_000, "batch.size": 4_000_000,
                     "queue.buffering.max.kbytes": 1_048_576})
        conf.update(_consumer_only_removed(self.client_options))
        conf.update(overrides)
        return conf

    def admin_config(self) -> dict[str, Any]:
        conf = self._common()
        conf.update(_consumer_only_removed(_producer_only_removed(self.client_options)))
        return conf


_CONSUMER_ONLY = ("session.timeout.ms", "heartbeat.interval.ms", "fetch.", "queued.",
                  "max.partition.fetch.bytes", "group.", "auto.offset.reset",
                  "enable.auto.", "isolation.level", "partition.assignment.strategy",
                  "max.poll.interval.ms")
_PRODUCER_ONLY = ("linger.ms", "batch.", "acks", "enable.idempotence", "compression.",
                  "queue.buffering.", "transactional.id", "message.timeout.ms")


def _consumer_only_removed(options: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if not k.startswith(_CONSUMER_ONLY)}


def _producer_only_removed(options: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if not k.startswith(_PRODUCER_ONLY)}
