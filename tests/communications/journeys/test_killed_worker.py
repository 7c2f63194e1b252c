"""A worker process killed in the middle of a run (SIGKILL, in the middle of a batch's transaction) loses no
member and repeats no step: what it committed stays, what it was writing is gone whole, and the next run takes
every member on from where they stand (PostgreSQL, a real process)."""

import os
import signal
import subprocess
import sys
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection, transaction

from kopilka.communications.journeys.entry import look
from kopilka.communications.journeys.models import JourneyState, JourneyStep
from kopilka.communications.journeys.run import run_journeys
from kopilka.communications.journeys.services import create_journey, move_journey
from kopilka.communications.message_templates import save_template
from kopilka.communications.models import Message
from kopilka.core import clock
from kopilka.core.models import ProgrammeSettings
from kopilka.customers.models import Consent, Member

# The worker process sees only what is committed; the flush after the test must not re-run post_migrate.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
MEMBERS = 1_000
BATCH = 50

# The worker: each batch's messages are written, then it dawdles inside the batch's transaction and says so.
WORKER = """
import sys, time
import django
django.setup()
from kopilka.communications.journeys import advance, sending
from kopilka.core import clock

written = sending.write_messages
def dawdling(*args, **kwargs):
    count = written(*args, **kwargs)
    print("written", flush=True)
    time.sleep(0.3)
    return count
sending.write_messages = dawdling
advance.advance(clock.now(), batch=int(sys.argv[1]))
"""


def test_a_worker_killed_mid_batch_loses_no_member_and_repeats_no_step():
    ProgrammeSettings.objects.create(pk=ProgrammeSettings.SINGLETON, public_url="https://bonus.example.ru",
                                     quiet_hours="00:00-00:00")
    now = clock.now()
    Member.objects.bulk_create([Member(last_name=f"Участник {n}", email=f"m{n}@example.ru", registered_at=now)
                                for n in range(MEMBERS)])
    Consent.objects.bulk_create([Consent(member=m, channel="email", granted=True, decided_at=now, source="form")
                                 for m in Member.objects.all()])
    for code in ("hello", "bye"):
        save_template(code=code, actor="t", name=code, channel="email", purpose="marketing", subject_ru=code,
                      body_ru=code)
    create_journey(code="j", name="Путь", trigger={"kind": "schedule", "at": (now - timedelta(minutes=1)).isoformat()},
                   graph={"start": "hello", "steps": {"hello": {"kind": "send", "template": "hello", "next": "bye"},
                                                      "bye": {"kind": "send", "template": "bye"}}}, actor="t")
    with transaction.atomic():
        look(move_journey("j", "start", actor="t"), now)  # every member enters, at the first send step
    assert JourneyState.objects.filter(step="hello", status="active").count() == MEMBERS

    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "kopilka.settings",
                   "DATABASE_URL": _url(connection.settings_dict["NAME"])}
    worker = subprocess.Popen([sys.executable, "-c", WORKER, str(BATCH)], env=environment, stdout=subprocess.PIPE,
                              text=True)
    for _ in range(3):
        assert worker.stdout.readline().strip() == "written"
    worker.send_signal(signal.SIGKILL)  # while the third batch's transaction is open
    worker.wait(timeout=30)

    committed = JourneyStep.objects.count()
    assert committed == 2 * BATCH and Message.objects.count() == 2 * BATCH
    run_journeys(clock.now())
    assert JourneyState.objects.filter(status="done").count() == MEMBERS
    assert JourneyStep.objects.count() == 2 * MEMBERS
    assert Message.objects.filter(kind="journey").count() == 2 * MEMBERS
    assert Message.objects.values("member_id", "source").distinct().count() == 2 * MEMBERS


def _url(name: str) -> str:
    configured = settings.DATABASES["default"]
    return (f"postgres://{configured['USER']}@{configured['HOST'] or '127.0.0.1'}:{configured['PORT'] or 5432}"
            f"/{name}")
