"""The topics a pipeline reads and writes, checked and created once at start.

:func:`provision` is the only place the runtime looks at topics before it runs. It
reads the cluster's topic list in one metadata request for *all* topics, which never
auto-creates one (a request naming a missing topic could: see
:meth:`KafkaConfig.admin_config <streamlearn.kafka.config.KafkaConfig.admin_config>`).
So a misspelled input topic is an error naming it, not an empty topic left behind, and
the topics the pipeline creates get exactly the partitions and config asked for.

Examples
--------
>>> TopicSpec(partitions=2)
TopicSpec(partitions=2, config={})
>>> STATE_TOPIC_SPEC.config["cleanup.policy"]
'compact'
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from streamlearn.core.errors import ConfigError, KafkaError
from streamlearn.kafka.admin import create_topics, topic_config, topic_partitions
from streamlearn.kafka.config import KafkaConfig

__all__ = ["STATE_TOPIC_SPEC", "Provisioned", "TopicSpec", "provision"]

log = logging.getLogger("streamlearn.runtime")


@dataclass(frozen=True)
class TopicSpec:
    """How to create a topic the pipeline writes, if it does not exist.

    Parameters
    ----------
    partitions
        Partition count; ``None``: the inputs' partition count.
    config
        Topic settings (``cleanup.policy``, ``retention.ms`` ...).

    Examples
    --------
    >>> TopicSpec(1, {"cleanup.policy": "compact"}).partitions
    1
    """

    partitions: int | None = None
    config: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.partitions is not None and self.partitions < 1:
            raise ConfigError(f"a topic needs at least 1 partition, not {self.partitions}")


#: one partition (one snapshot per key is all a restore reads), compacted so retention
#: never deletes the only snapshot of a partition
STATE_TOPIC_SPEC = TopicSpec(1, {"cleanup.policy": "compact"})


@dataclass(frozen=True)
class Provisioned:
    """What :func:`provision` found and did.

    Attributes
    ----------
    partitions
        Partition count of each input topic.
    created
        Topics created now (with the partitions and config asked for).
    warnings
        One-line findings to show the user (also logged at WARNING), e.g. a state topic
        that is not compacted.
    """

    partitions: dict[str, int]
    created: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def _missing_error(missing: list[str], existing: Sequence[str]) -> ConfigError:
    parts = []
    for topic in missing:
        close = difflib.get_close_matches(topic, existing, n=3, cutoff=0.6)
        hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
        parts.append(f"{topic!r}{hint}")
    noun = "topic does" if len(missing) == 1 else "topics do"
    return ConfigError(f"input {noun} not exist: {'; '.join(parts)}")


def _state_warning(kafka: KafkaConfig, topic: str) -> str | None:
    try:
        policy = topic_config(kafka, topic).get("cleanup.policy")
    except KafkaError as exc:
        return f"could not check that state topic {topic!r} is compacted: {exc}"
    if policy is not None and "compact" in policy:
        return None
    shown = (
        f"cleanup.policy={policy}"
        if policy is not None
        else "no cleanup.policy (the Kafka default is delete)"
    )
    return (
        f"state topic {topic!r} is not compacted ({shown}): retention may delete "
        f"the only snapshot of a partition; set cleanup.policy=compact on it"
    )


def provision(
    kafka: KafkaConfig,
    *,
    inputs: Sequence[str],
    outputs: Mapping[str, TopicSpec] | None = None,
    state_topic: str | None = None,
    co_partitioned: bool = True,
    timeout: float = 15.0,
) -> Provisioned:
    """Check the input topics and create the missing output and state topics.

    Parameters
    ----------
    kafka
        The cluster.
    inputs
        Topics the pipeline reads; each must exist.
    outputs
        Topics it writes (sinks, dead letters, metrics), created when missing with their
        :class:`TopicSpec` (an existing topic is left as it is; a different partition
        count is reported in ``warnings``).
    state_topic
        The state topic of a stateful pipeline (``None``: none). Created with one
        partition and ``cleanup.policy=compact``; an existing one that is not compacted
        is reported in ``warnings``. Tansu 0.6 reports only the settings a topic was
        created with, so a topic created there without ``cleanup.policy`` is reported as
        not compacted (right: it is not), and Tansu never compacts anyway.
    co_partitioned
        Whether the inputs are processed partition by partition together (then their
        partition counts must be equal).
    timeout
        Seconds for each admin request.

    Returns
    -------
    Provisioned
        The inputs' partition counts, the topics created and the warnings.

    Raises
    ------
    ConfigError
        One line: a missing input (naming existing topics with a similar name), or
        co-partitioned inputs with different partition counts.

    Examples
    --------
    ::

        done = provision(kafka, inputs=["trades"], outputs={"clusters": TopicSpec()},
                         state_topic="s1.state")
        done.partitions   # {'trades': 4}
    """
    outputs = dict(outputs or {})
    existing = topic_partitions(kafka, timeout)
    missing = [t for t in dict.fromkeys(inputs) if t not in existing]
    if missing:
        raise _missing_error(missing, sorted(existing))
    counts = {t: existing[t] for t in dict.fromkeys(inputs)}
    if co_partitioned and len(set(counts.values())) > 1:
        shown = ", ".join(f"{t!r} has {n}" for t, n in counts.items())
        raise ConfigError(
            f"input topics must be co-partitioned (the same partition count: "
            f"partition p of each is processed together), but {shown}"
        )
    default = max(counts.values(), default=1)
    wanted = dict(outputs)
    if state_topic is not None:
        wanted[state_topic] = STATE_TOPIC_SPEC
    specs = {
        t: (s.partitions or default, s.config)
        for t, s in wanted.items()
        if t not in existing and t not in counts
    }
    created = create_topics(kafka, specs, timeout)
    warnings = []
    for topic, spec in outputs.items():
        if topic in existing and spec.partitions is not None and existing[topic] != spec.partitions:
            warnings.append(
                f"topic {topic!r} exists with {existing[topic]} partitions, "
                f"not the {spec.partitions} asked for; it is used as it is"
            )
    if state_topic is not None and state_topic in existing:
        found = _state_warning(kafka, state_topic)
        if found is not None:
            warnings.append(found)
    for line in warnings:
        log.warning("%s", line)
    if created:
        log.info("created topics %s", ", ".join(f"{t} ({specs[t][0]} partitions)" for t in created))
    return Provisioned(counts, tuple(created), tuple(warnings))
