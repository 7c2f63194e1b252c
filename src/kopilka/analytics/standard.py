"""The standard snapshots: every analytics page on the parameters it opens with, queued every night so that the
pages open at once in the morning."""

from datetime import date

from kopilka.analytics import params
from kopilka.analytics.models import Snapshot
from kopilka.analytics.snapshots import request


def request_standard(day: date, actor: str) -> list[Snapshot]:
    """A snapshot of every kind on its default parameters for `day` (their data end the day before)."""
    return [request(kind, params.defaults(kind, day), actor) for kind in params.FORMS]
