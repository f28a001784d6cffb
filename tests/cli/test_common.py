"""Cluster settings from the command line (issue 8, item 11)."""

from __future__ import annotations

import pytest

from streamlearn.cli.common import kafka_config
from streamlearn.core.errors import BrokerError
from streamlearn.kafka.local_broker import start_background, stop_background


@pytest.fixture(scope="module")
def background_broker(tmp_path_factory):
    state = tmp_path_factory.mktemp("broker")
    info, _ = start_background(state)
    yield state, info
    stop_background(state)


def test_every_option_reaches_the_config_without_a_bootstrap(background_broker):
    state, info = background_broker
    cfg = kafka_config(
        None, ["linger.ms=7", "security.protocol=SASL_PLAINTEXT"], "me", "pw", state_dir=str(state)
    )
    assert cfg.bootstrap_servers == info.bootstrap and cfg.local
    assert cfg.client_options == {"linger.ms": "7"}
    assert (cfg.sasl_username, cfg.sasl_password) == ("me", "pw")
    assert cfg.security_protocol == "SASL_PLAINTEXT"
    assert cfg.producer_config()["linger.ms"] == "7"


def test_the_local_brokers_address_given_explicitly_gets_its_settings(background_broker):
    # issue 8, item 10: -b / STREAMLEARN_BOOTSTRAP with the local broker's address joined
    # groups with librdkafka's defaults (~20 s slower per run)
    state, info = background_broker
    cfg = kafka_config(info.bootstrap, ["linger.ms=7"], state_dir=str(state))
    assert cfg.local
    assert cfg.consumer_config("g")["session.timeout.ms"] <= 6000
    assert not kafka_config("kafka.example.com:9092", state_dir=str(state)).local


def test_every_option_reaches_the_config_with_a_bootstrap():
    cfg = kafka_config("kafka:9092", ["linger.ms=7"], "me", "pw")
    assert cfg.producer_config()["linger.ms"] == "7"
    assert cfg.producer_config()["sasl.password"] == "pw" and "pw" not in repr(cfg)


def test_no_bootstrap_and_no_broker_is_a_one_line_error(tmp_path):
    with pytest.raises(BrokerError, match="no local broker running"):
        kafka_config(None, state_dir=str(tmp_path))
