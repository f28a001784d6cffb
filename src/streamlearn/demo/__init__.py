"""The demo scenarios behind ``streamlearn demo``, each behind one protocol.

Examples
--------
>>> sorted(SCENARIOS)
['late-labels', 'temperature-regimes', 'trades-clusters']
>>> make_scenario("s4", DemoSettings(records=100)).name    # old names still work
'late-labels'
"""

from __future__ import annotations

from streamlearn.core.errors import ConfigError
from streamlearn.demo.base import DemoSettings, Scenario, ViewTable
from streamlearn.demo.late_labels import LateLabels
from streamlearn.demo.temperature_regimes import TemperatureRegimes
from streamlearn.demo.trades_clusters import TradesClusters

__all__ = [
    "ALIASES",
    "SCENARIOS",
    "DemoSettings",
    "LateLabels",
    "Scenario",
    "TemperatureRegimes",
    "TradesClusters",
    "ViewTable",
    "make_scenario",
]

SCENARIOS: dict[str, type[TradesClusters] | type[LateLabels] | type[TemperatureRegimes]] = {
    TradesClusters.name: TradesClusters,
    LateLabels.name: LateLabels,
    TemperatureRegimes.name: TemperatureRegimes,
}
#: the names ``--scenario`` took before the scenarios were named for what they do
ALIASES = {"s1": TradesClusters.name, "s2": TemperatureRegimes.name, "s4": LateLabels.name}


def make_scenario(name: str, settings: DemoSettings, suffix: str = "") -> Scenario:
    """The scenario called ``name`` (or an alias), set up with ``settings``."""
    cls = SCENARIOS.get(ALIASES.get(name, name))
    if cls is None:
        raise ConfigError(f"unknown scenario {name!r}: one of {', '.join(SCENARIOS)}")
    return cls(settings, suffix)
