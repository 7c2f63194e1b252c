"""Background work of the analytics: computing requested snapshots, and the nightly standard set."""

from datetime import datetime

from django_tasks import task

from kopilka.core.scheduling import PERIODIC_QUEUE


@task()
def compute_snapshot(snapshot_id: int) -> str:
    from kopilka.analytics.snapshots import compute

    return compute(snapshot_id)


@task(queue_name=PERIODIC_QUEUE)
def nightly_snapshots(slot: str) -> list[int]:
    """Queue the standard snapshots for the day the slot falls on (the dashboards open on them)."""
    from kopilka.analytics.standard import request_standard
    from kopilka.core import clock

    return [snapshot.pk for snapshot in request_standard(clock.local_date(datetime.fromisoformat(slot)),
                                                         actor="system:analytics")]
