"""100,000 members through a send step in bounded memory (PostgreSQL): the worker's peak of Python memory is the
same for 20,000 members as for 100,000 — it holds a batch at a time, never the crowd."""

import tracemalloc
from datetime import timedelta

import pytest
from django.db import connection, transaction

from kopilka.communications.journeys.advance import advance
from kopilka.communications.journeys.entry import look
from kopilka.communications.journeys.models import JourneyState
from kopilka.communications.journeys.services import create_journey, move_journey
from kopilka.communications.message_templates import save_template
from kopilka.communications.models import Message
from kopilka.core import clock, sql
from kopilka.core.models import ProgrammeSettings
from kopilka.customers.models import Consent, Member

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def crowd(size: int) -> None:
    moment = sql.at(clock.now() - timedelta(days=30))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Member._meta.db_table} (kind, status, last_name, first_name, middle_name, legal_name,"
            " inn, kpp, phone, email, gender, registration_source, registered_at, blocked_reason, search_text,"
            " created_at, updated_at) SELECT 'individual', 'active', 'Участник', 'Анна', '', '', '', '', '',"
            " 'm' || n || '@example.ru', '', 'test', %s, '', '', %s, %s FROM generate_series(1, %s) n",
            [moment, moment, moment, size])
        cursor.execute(f"INSERT INTO {Consent._meta.db_table} (member_id, channel, granted, decided_at, source)"
                       f" SELECT id, 'email', true, %s, 'test' FROM {Member._meta.db_table}", [moment])
        cursor.execute("ANALYZE")


def peak_through_a_send_step(code: str) -> int:
    """Members enter and take the send step; returns the peak of Python memory the worker took for it."""
    create_journey(code=code, name=code, trigger={"kind": "schedule", "at": clock.now().isoformat()}, actor="t",
                   graph={"start": "hello", "steps": {"hello": {"kind": "send", "template": "hello"}}})
    tracemalloc.start()
    try:
        with transaction.atomic():
            look(move_journey(code, "start", actor="t"), clock.now())
        advance(clock.now())
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_hundred_thousand_members_go_through_a_send_step_in_the_memory_twenty_thousand_take():
    ProgrammeSettings.objects.create(pk=ProgrammeSettings.SINGLETON, public_url="https://bonus.example.ru",
                                     quiet_hours="00:00-00:00", marketing_cap_messages=10)
    save_template(code="hello", actor="t", name="hello", channel="email", purpose="marketing", subject_ru="Привет",
                  body_ru="{{ member.name }}, привет")
    crowd(20_000)
    small = peak_through_a_send_step("small")
    crowd(80_000)
    large = peak_through_a_send_step("large")
    assert Message.objects.filter(kind="journey").count() == 120_000
    assert JourneyState.objects.filter(status="done").count() == 120_000
    assert large < small * 1.25 + 256 * 1024, (small, large)
    assert large < 16 * 1024 * 1024, large
