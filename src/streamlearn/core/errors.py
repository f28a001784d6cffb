"""The exceptions streamlearn raises.

Every error a user can catch derives from :class:`StreamlearnError`::

    StreamlearnError
    ├── ConfigError            bad settings or arguments, found before anything runs
    │   └── ModelLoadError     a model's bytes could not be loaded or do not fit the stream
    ├── OperatorError          an operator failed on a batch (names the step and the source)
    │   ├── DecodeError        input bytes that a codec could not turn into rows
    │   └── SinkUnavailable    a sink's database is away for now (worth trying again)
    ├── StateError             a snapshot could not be written, read or restored
    ├── BrokerError            the local development broker could not start or stop
    ├── KafkaError             the cluster refused or failed a request
    └── NotFittedError         a model was asked to predict before it learned anything
                               (also a ValueError and AttributeError, as in scikit-learn)
"""

from __future__ import annotations


class StreamlearnError(Exception):
    """Base class of every streamlearn error."""


class ConfigError(StreamlearnError, ValueError):
    """A setting or argument is wrong; raised before any record is processed."""


class ModelLoadError(ConfigError):
    """A model version could not be loaded or does not fit the stream (one line).

    Raised by the model codecs (:mod:`streamlearn.formats.river`) and the serving loader
    (:mod:`streamlearn.serve.loader`), which keeps the previous version scoring.
    """


class OperatorError(StreamlearnError):
    """An operator failed on a batch.

    The message names the step and, when known, the source topic/partition/offsets.
    """

    def __init__(
        self,
        message: str,
        *,
        operator: str | None = None,
        topic: str | None = None,
        partition: int | None = None,
        offset: int | None = None,
    ) -> None:
        where = []
        if operator:
            where.append(f"step {operator!r}")
        if topic is not None:
            where.append(f"{topic}[{partition}]@{offset}")
        super().__init__(f"{message} ({', '.join(where)})" if where else message)
        self.operator = operator
        self.topic = topic
        self.partition = partition
        self.offset = offset


class DecodeError(OperatorError):
    """Bytes that a codec could not turn into a row of the declared schema."""


class SinkUnavailable(OperatorError):
    """A sink's target is away (connection refused, server restarting): the flush may
    succeed later, and the sink kept every row.

    Raised by ``Sink.flush`` after one attempt; the caller decides how to wait. The
    Kafka runtime pauses the consumer's partitions and tries again with back-off
    (:mod:`streamlearn.runtime.backpressure`); ``Context.flush_sinks`` offline retries
    in place. ``target`` names the database without secrets; ``retry_for`` is how long
    the sink allows waiting before the run stops.
    """

    def __init__(
        self, message: str, *, operator: str | None = None, target: str, retry_for: float
    ) -> None:
        super().__init__(f"{target} unavailable: {message}", operator=operator)
        self.reason = message
        self.target = target
        self.retry_for = retry_for


class StateError(StreamlearnError):
    """A state snapshot could not be encoded, decoded, stored or restored."""


class BrokerError(StreamlearnError):
    """The local development broker could not be started, reached or stopped."""


class KafkaError(StreamlearnError):
    """The Kafka cluster refused or failed a request (produce, commit, admin call)."""


class NotFittedError(StreamlearnError, ValueError, AttributeError):
    """A model was used for prediction before it was fitted."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's text, for one-line reports.

    >>> first_line(ValueError("a\\nb"))
    'a'
    """
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
