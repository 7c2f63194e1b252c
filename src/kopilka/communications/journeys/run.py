"""One run of the journeys, as the worker's periodic job makes it: the events since the last run (entries and
wake-ups), the looks by time of the live journeys that are due for one, then every step whose time has come."""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from kopilka.communications.journeys.advance import advance
from kopilka.communications.journeys.entry import due_for_look, look
from kopilka.communications.journeys.events import read_events
from kopilka.communications.journeys.models import Journey
from kopilka.core import clock


@dataclass(frozen=True)
class Run:
    events: int
    entered: int
    steps: int


def run_journeys(now: datetime | None = None) -> Run:
    now = now or clock.now()
    events = read_events(now)
    entered = 0
    for journey_id in Journey.objects.filter(status=Journey.Status.LIVE).exclude(trigger__kind="event") \
            .values_list("pk", flat=True):
        with transaction.atomic():
            journey = Journey.objects.select_for_update().get(pk=journey_id)
            if journey.status == Journey.Status.LIVE and due_for_look(journey, now):
                entered += look(journey, now)
    return Run(events, entered, advance(now))
