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
>>> cfg.admin_config()["allow.auto.create.topics"]
False
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

__all__ = ["CONSUMER_THROUGHPUT", "LOCAL_CONSUMER", "KafkaConfig", "is_local_broker"]

#: consumer settings that pay off on any cluster (measured in LIBRARY-FACTS.md):
#: the default fetch.queue.backoff.ms=1000 stalls consume() for ~1 s whenever the local
#: queue fills. 50k prefetched records keep consume() fed (a 10 MB partition fetch adds
#: ~100k small records at a time); 200k cost S1 ~60 MB more RSS for no measurable speed.
#: fetch.wait.max.ms=10 (librdkafka: 500): how long the broker may hold a fetch that found
#: too little data. Apache Kafka answers as soon as fetch.min.bytes (1) is there, so this
#: only bounds idle polling; the local broker holds fetches longer, and at 500 ms each hop
#: of a pipeline took ~130 ms more (BENCHMARKS.md, latency). An idle consumer now sends up
#: to ~100 fetches/s; set it back with client_options={"fetch.wait.max.ms": 500}.
CONSUMER_THROUGHPUT = {
    "fetch.queue.backoff.ms": 10,
    "fetch.wait.max.ms": 10,
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

    @classmethod
    def resolve(
        cls, bootstrap: str, *, state_dir: str | Path | None = None, **settings: Any
    ) -> KafkaConfig:
        """Settings for ``bootstrap``, marked ``local`` when it is the address of the
        running local broker (``streamlearn broker start``).

        The CLI (``-b``, ``STREAMLEARN_BOOTSTRAP``) and ``sl.run(kafka="host:port")``
        both come here, so the local broker gets its fast group-join settings however
        its address was given (without them every run waited ~20 s longer).

        Parameters
        ----------
        bootstrap
            ``host:port[,host:port...]``.
        state_dir
            Where ``broker start`` keeps its state file (default
            ``~/.streamlearn/broker``).
        settings
            Any other field of :class:`KafkaConfig`.

        Examples
        --------
        >>> KafkaConfig.resolve("kafka.example.com:9092", state_dir="/nonexistent").local
        False
        """
        local = settings.pop("local", False) or is_local_broker(bootstrap, state_dir)
        return cls(bootstrap_servers=bootstrap, local=local, **settings)

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
        from streamlearn.kafka.connect import librdkafka_logger

        # a closed idle connection is routine, not worth a log line; librdkafka's lines
        # go through Python logging, deduplicated (kafka/connect.py), never to stderr
        conf: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap_servers,
            "log.connection.close": False,
            "logger": librdkafka_logger(),
        }
        for key, value in (
            ("security.protocol", self.security_protocol),
            ("sasl.mechanism", self.sasl_mechanism),
            ("sasl.username", self.sasl_username),
            ("sasl.password", self.sasl_password),
            ("ssl.ca.location", self.ssl_ca_location),
        ):
            if value is not None:
                conf[key] = value
        return conf

    def consumer_config(self, group_id: str | None, **overrides: Any) -> dict[str, Any]:
        """Settings of a consumer that stores no offsets by itself (streamlearn commits)."""
        conf = self._common()
        conf.update(CONSUMER_THROUGHPUT)
        # a subscription or metadata request must never create a topic (librdkafka's
        # consumer default, stated so that no -X setting flips it by accident)
        conf.update(
            {
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "auto.offset.reset": "earliest",
                "allow.auto.create.topics": False,
            }
        )
        if self.local:
            conf.update(LOCAL_CONSUMER)
        if group_id is not None:
            conf["group.id"] = group_id
        conf.update(_producer_only_removed(self.client_options))
        conf.update(overrides)
        return conf

    def producer_config(self, **overrides: Any) -> dict[str, Any]:
        """Settings of an idempotent producer tuned for batches (linger 1 ms: a batch is
        produced at once, so a longer linger only delays its last request; BENCHMARKS.md)."""
        conf = self._common()
        conf.update(
            {
                "enable.idempotence": True,
                "linger.ms": 1,
                "batch.num.messages": 100_000,
                "batch.size": 4_000_000,
                "queue.buffering.max.kbytes": 1_048_576,
            }
        )
        conf.update(_consumer_only_removed(self.client_options))
        conf.update(overrides)
        return conf

    def admin_config(self) -> dict[str, Any]:
        """Settings of an admin client.

        ``allow.auto.create.topics`` is off: an AdminClient is a producer-type handle
        in librdkafka, whose default is on, so ``list_topics(topic)`` asked the broker to
        create a missing topic (Tansu and Apache Kafka with its default
        ``auto.create.topics.enable=true`` both do, with the broker's partition count and
        no config). Listing all topics (no topic argument) never creates anything.
        """
        conf = self._common()
        conf["allow.auto.create.topics"] = False
        conf.update(_consumer_only_removed(_producer_only_removed(self.client_options)))
        return conf


def _host_port(address: str) -> tuple[str, str]:
    host, _, port = address.strip().rpartition(":")
    host = host.strip("[]").lower()
    if host in ("localhost", "127.0.0.1", "::1", "0.0.0.0", ""):
        host = "loopback"
    return host, port


def is_local_broker(bootstrap: str, state_dir: str | Path | None = None) -> bool:
    """True when ``bootstrap`` is the address of the running local broker.

    Compared with the state file ``streamlearn broker start`` wrote (``localhost`` and
    ``127.0.0.1`` count as the same host); a stale file (no broker behind it) is not a
    match.

    Examples
    --------
    >>> is_local_broker("127.0.0.1:9092", state_dir="/nonexistent")
    False
    """
    from streamlearn.kafka.local_broker import default_state_dir, status

    wanted = {_host_port(a) for a in bootstrap.split(",") if a.strip()}
    if not wanted or not all(h == "loopback" for h, _ in wanted):
        return False  # the local broker listens on loopback only: no file to read
    path = default_state_dir(state_dir)
    if not (path / "broker.json").is_file():
        return False
    info = status(path)
    return info is not None and _host_port(info.bootstrap) in wanted


_CONSUMER_ONLY = (
    "session.timeout.ms",
    "heartbeat.interval.ms",
    "fetch.",
    "queued.",
    "max.partition.fetch.bytes",
    "group.",
    "auto.offset.reset",
    "enable.auto.",
    "isolation.level",
    "partition.assignment.strategy",
    "max.poll.interval.ms",
)
_PRODUCER_ONLY = (
    "linger.ms",
    "batch.",
    "acks",
    "enable.idempotence",
    "compression.",
    "queue.buffering.",
    "transactional.id",
    "message.timeout.ms",
)


def _consumer_only_removed(options: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if not k.startswith(_CONSUMER_ONLY)}


def _producer_only_removed(options: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if not k.startswith(_PRODUCER_ONLY)}


def resolve_kafka(kafka: KafkaConfig | str | None) -> KafkaConfig:
    """A config from what a user passed as ``kafka=``: a :class:`KafkaConfig` as it is, a
    bootstrap string through :meth:`KafkaConfig.resolve`; nothing is a one-line error.

    >>> resolve_kafka("broker-1:9092").bootstrap_servers
    'broker-1:9092'
    """
    from streamlearn.core.errors import ConfigError

    if isinstance(kafka, KafkaConfig):
        return kafka
    if isinstance(kafka, str) and kafka:
        return KafkaConfig.resolve(kafka)  # the local broker's address: fast joins
    raise ConfigError(
        "no Kafka cluster given: pass kafka='host:port' or a KafkaConfig "
        "(the CLI reads STREAMLEARN_BOOTSTRAP)"
    )
