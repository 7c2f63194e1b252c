"""The KPI set and the RFM grid of one scope from a single pass over the purchases (what the nightly dashboard
snapshot and bench/analytics.py compute)."""

from kopilka.analytics import kpi, scoring
from kopilka.analytics.facts import member_facts
from kopilka.analytics.scope import Scope


def overview(scope: Scope, scheme: str = "3x3x3") -> tuple[kpi.KpiSet, scoring.RfmGrid]:
    facts = member_facts(scope)
    return kpi.compute(scope, facts), scoring.grid(scope, scheme, facts)
