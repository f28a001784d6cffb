"""The scenario tests use the sink tests' servers (InfluxDB 1.x started once a session)."""

from tests.write.conftest import influx_db, influxd

__all__ = ["influx_db", "influxd"]
