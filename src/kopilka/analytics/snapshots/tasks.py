"""Periodic work of the analytics: the nightly standard set of snapshots (when: `runtime.schedule`)."""

from datetime import datetime

from django_tasks import task

from kopilka.analytics.snapshots.lifecycle import request_standard
from kopilka.core import clock
from kopilka.core.scheduling import PERIODIC_QUEUE


@task(queue_name=PERIODIC_QUEUE)
def nightly_snapshots(slot: str) -> list[int]:
    """Queue the standard snapshots for the day the slot falls on (the dashboards open on them)."""
    return [snapshot.pk for snapshot in request_standard(clock.local_date(datetime.fromisoformat(slot)),
                                                         actor="system:analytics")]
