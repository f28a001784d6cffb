"""How a pipeline runs: delivery guarantee, limits, topic names, timing."""

from __future__ import annotations

from dataclasses import dataclass

from streamlearn.core.errors import ConfigError

DELIVERY_MODES = ("at-least-once", "exactly-once")


@dataclass(frozen=True)
class RunOptions:
    """Settings of one run of a pipeline.

    Parameters
    ----------
    name
        The pipeline's name: default consumer group, prefix of its state and dead-letter
        topics, and part of every state key. Keep it stable to keep the state.
    delivery
        ``"at-least-once"`` (outputs flushed, then state, then offsets) or
        ``"exactly-once"`` (one Kafka transaction per commit interval holds outputs, state
        and offsets; needs a broker with working transactions, e.g. Apache Kafka).
    commit_interval
        Seconds between commits (snapshots and offsets).
    max_records
        Stop after this many input records (``None``: run until stopped).
    idle_timeout
        Stop after this many seconds without input (``None``: never).
    dead_letter_topic, state_topic
        Default ``<name>.dlq`` and ``<name>.state``.
    tick_interval
        Seconds between timer calls to the operators (processing-time windows).
    transactional_id
        Exactly-once only; default ``<name>-0``.
    reset_state
        Names of stateful steps whose saved state is dropped at start (they start
        fresh); needed when a step was renamed, added or removed while its pipeline
        kept state (``streamlearn run --reset-state STEP``).
    metrics_topic, metrics_interval
        Where and how often the runtime publishes its reports (one per member and one
        per step and partition; see :mod:`streamlearn.runtime.metrics`); default
        ``<name>.metrics`` every second.
    metrics_port
        Serve the same figures for Prometheus on ``127.0.0.1:PORT/metrics``.

    Examples
    --------
    >>> RunOptions(name="s1", max_records=1000).dead_letter_topic
    's1.dlq'
    """

    name: str = "streamlearn"
    delivery: str = "at-least-once"
    commit_interval: float = 1.0
    max_records: int | None = None
    idle_timeout: float | None = None
    dead_letter_topic: str = ""
    state_topic: str = ""
    tick_interval: float = 0.1
    transactional_id: str = ""
    reset_state: tuple[str, ...] = ()
    metrics_topic: str = ""
    metrics_interval: float = 1.0
    metrics_port: int | None = None

    def __post_init__(self) -> None:
        if self.delivery not in DELIVERY_MODES:
            raise ConfigError(f"delivery must be one of {DELIVERY_MODES}, not {self.delivery!r}")
        if self.commit_interval <= 0 or self.tick_interval <= 0:
            raise ConfigError("commit_interval and tick_interval must be > 0")
        if self.max_records is not None and self.max_records < 0:
            raise ConfigError("max_records must be >= 0")
        # resolved once, here: every later reader sees plain strings
        if not self.dead_letter_topic:
            object.__setattr__(self, "dead_letter_topic", f"{self.name}.dlq")
        if not self.state_topic:
            object.__setattr__(self, "state_topic", f"{self.name}.state")
        if not self.transactional_id:
            object.__setattr__(self, "transactional_id", f"{self.name}-0")
        object.__setattr__(self, "reset_state", tuple(self.reset_state))
        if not self.metrics_topic:
            object.__setattr__(self, "metrics_topic", f"{self.name}.metrics")
        if self.metrics_interval <= 0:
            raise ConfigError("metrics_interval must be > 0")

    @property
    def exactly_once(self) -> bool:
        return self.delivery == "exactly-once"
