"""The live dashboard: a small web board over a pipeline's metrics feed.

``streamlearn dashboard --name s1`` (or :func:`serve_dashboard`) reads the topic
``<name>.metrics`` that the runtime publishes every ``metrics_interval`` and serves one
page at ``http://127.0.0.1:8050/`` with throughput, latency, lag per partition, the
figures of every step (prequential accuracy/F1 or MAE, k-means centroids, model
versions) updated live by server-sent events, and with ``series`` the values an output
topic carries over time (``series.py``: bucketed, bounded in memory). The page's assets
ship in the package (``static/``, with uPlot, MIT); ``grafana/`` holds a Grafana board
and data-source provisioning for the Prometheus exporter and the InfluxDB sink (docs/dashboard.md).
Needs the extra ``streamlearn[dashboard]`` (Starlette, uvicorn).
"""

from streamlearn.dashboard.feed import MetricsFeed
from streamlearn.dashboard.history import MetricsHistory
from streamlearn.dashboard.series import SeriesBuffer, SeriesSpec, parse_series
from streamlearn.dashboard.server import Dashboard, serve_dashboard

__all__ = [
    "Dashboard",
    "MetricsFeed",
    "MetricsHistory",
    "SeriesBuffer",
    "SeriesSpec",
    "parse_series",
    "serve_dashboard",
]
