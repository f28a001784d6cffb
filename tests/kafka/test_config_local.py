"""The local broker's address, however it is given, gets the fast group-join settings
(issue 8, item 10)."""

from __future__ import annotations

import pytest

from streamlearn.kafka.config import LOCAL_CONSUMER, KafkaConfig, is_local_broker, resolve_kafka
from streamlearn.kafka.local_broker import free_port, start_background, stop_background

pytestmark = pytest.mark.broker


@pytest.fixture
def background_broker(tmp_path, monkeypatch):
    """``streamlearn broker start`` with HOME in a temporary folder (default state dir)."""
    monkeypatch.setenv("HOME", str(tmp_path))
    state_dir = tmp_path / ".streamlearn" / "broker"
    info, _ = start_background(state_dir)
    try:
        yield info
    finally:
        stop_background(state_dir)


def test_the_running_local_brokers_address_is_local(background_broker):
    address = background_broker.bootstrap
    assert is_local_broker(address)
    assert is_local_broker(address.replace("127.0.0.1", "localhost"))
    for cfg in (KafkaConfig.resolve(address), resolve_kafka(address)):
        assert cfg.local
        conf = cfg.consumer_config("g")
        assert {k: conf[k] for k in LOCAL_CONSUMER} == LOCAL_CONSUMER


def test_other_addresses_are_not_local(background_broker):
    assert not is_local_broker(f"127.0.0.1:{free_port()}")
    assert not resolve_kafka("kafka.example.com:9092").local
    cfg = KafkaConfig.resolve("kafka.example.com:9092", client_options={"acks": "all"})
    assert cfg.client_options == {"acks": "all"} and not cfg.local
