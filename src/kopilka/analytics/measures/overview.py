"""The KPI set and the RFM grid of one scope from a single pass over the purchases (what the nightly dashboard
snapshot and bench/analytics.py compute)."""

from kopilka.analytics.data.scope import Scope
from kopilka.analytics.measures import kpi, scoring


def overview(scope: Scope, scheme: str = "3x3x3") -> tuple[kpi.KpiSet, scoring.RfmGrid]:
    kpis = kpi.compute(scope)  # its reads run side by side where the database allows (see data/together.py)
    return kpis, scoring.grid(scope, scheme, kpis.facts)
