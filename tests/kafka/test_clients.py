"""Bad librdkafka settings are one-line errors naming the setting (issue 8, item 11)."""

from __future__ import annotations

import pytest

from streamlearn.core.errors import ConfigError
from streamlearn.kafka.clients import make_admin, make_consumer, make_producer
from streamlearn.kafka.config import KafkaConfig


@pytest.mark.parametrize("make", [make_consumer, make_producer, make_admin])
def test_unknown_setting_is_one_line_naming_it(make):
    cfg = KafkaConfig(bootstrap_servers="127.0.0.1:1", client_options={"no.such.key": "1"})
    with pytest.raises(ConfigError) as info:
        make(cfg, "g") if make is make_consumer else make(cfg)
    assert str(info.value) == "bad Kafka client setting: no such setting 'no.such.key'"


def test_bad_value_names_setting_and_value():
    cfg = KafkaConfig(
        bootstrap_servers="127.0.0.1:1", client_options={"auto.offset.reset": "sideways"}
    )
    with pytest.raises(ConfigError, match=r"invalid value 'sideways' for 'auto\.offset\.reset'"):
        make_consumer(cfg, "g")


def test_a_secret_value_is_never_shown():
    with pytest.raises(ConfigError) as info:
        make_producer(
            {
                "bootstrap.servers": "127.0.0.1:1",
                "sasl.password": "hunter2",
                "message.timeout.ms": "soon",
            }
        )
    assert "hunter2" not in str(info.value) and "'message.timeout.ms'" in str(info.value)
