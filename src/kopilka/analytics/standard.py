"""The standard snapshots the dashboards open on, queued every night for the day before."""

from datetime import date, timedelta

from kopilka.analytics.models import Snapshot
from kopilka.analytics.snapshots import request

DASHBOARD_DAYS = 30


def standard_params(day: date) -> list[tuple[str, dict]]:
    """(kind, params) of the standard set for `day`: its data end the day before."""
    end = day - timedelta(days=1)
    return [
        ("dashboard", {"start": (end - timedelta(days=DASHBOARD_DAYS - 1)).isoformat(), "end": end.isoformat()}),
        ("rfm", {"as_of": end.isoformat(), "grid": "3x3x3"}),
    ]


def request_standard(day: date, actor: str) -> list[Snapshot]:
    return [request(kind, params, actor) for kind, params in standard_params(day)]
