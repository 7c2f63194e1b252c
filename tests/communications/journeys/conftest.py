"""What the journeys' tests share: the programme's rules for marketing (a public address, quiet hours, a cap),
members with e-mail consent, and running the worker's job at the test's moment."""

import itertools
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from kopilka.communications.journeys.run import run_journeys
from kopilka.core import clock, programme
from kopilka.core.models import ProgrammeSettings
from kopilka.customers import services as members

MOSCOW = ZoneInfo("Europe/Moscow")
_numbers = itertools.count(1)
PUBLIC = "https://bonus.example.ru"


@pytest.fixture
def rules(db):
    """Marketing may go out: a public address, quiet hours 21:00–09:00 Moscow time, at most 5 in 7 days."""
    ProgrammeSettings.objects.create(pk=ProgrammeSettings.SINGLETON, public_url=PUBLIC, quiet_hours="21:00-09:00",
                                     marketing_cap_messages=5, marketing_cap_days=7)
    programme.forget()


@pytest.fixture
def noon(moments):
    """The test's clock, at noon in Moscow on 10 June 2026."""
    moments.now = datetime(2026, 6, 10, 12, 0, tzinfo=MOSCOW)
    return moments


def member(name: str, email: str = "", *, consent: bool | None = True, **fields):
    made = members.create_member(actor="t", first_name=name, last_name="Соколова",
                                 email=email or f"member-{next(_numbers)}@example.ru", **fields)
    if consent is not None:
        members.set_consent(member_id=made.pk, channel="email", granted=consent, source="form", actor="t",
                            at=clock.now())
    return made


def run():
    return run_journeys(clock.now())
