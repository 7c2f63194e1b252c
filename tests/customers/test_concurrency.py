"""Uniqueness holds in the database, not only in the services' checks."""

import threading
import time

import pytest
from django.db import IntegrityError, connection, transaction

from kopilka.core import clock
from kopilka.core.errors import Conflict
from kopilka.customers import services
from kopilka.customers.models import Member

COMPANY = {"kind": "legal_entity", "legal_name": 'ПАО "Сбербанк"', "inn": "7707083893"}


@pytest.mark.django_db
def test_database_refuses_a_second_live_legal_entity_with_one_inn():
    Member.objects.create(**COMPANY, registered_at=clock.now())

    with pytest.raises(IntegrityError), transaction.atomic():
        Member.objects.create(**COMPANY, registered_at=clock.now())

    Member.objects.create(**COMPANY, status="deleted", registered_at=clock.now())
    Member.objects.create(kind="individual", inn="7707083893", registered_at=clock.now())
    assert Member.objects.filter(inn="7707083893").count() == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_creates_of_one_inn_give_one_member_and_one_conflict():
    first_inserted = threading.Event()
    outcome: dict[str, str] = {}

    def first():
        try:
            with transaction.atomic():
                services.create_member(actor="t", **COMPANY)
                first_inserted.set()
                # Meanwhile the second insert has passed its check and waits on the unique index.
                time.sleep(0.5)
            outcome["first"] = "created"
        finally:
            connection.close()

    def second():
        first_inserted.wait(5)
        try:
            services.create_member(actor="t", **COMPANY)
            outcome["second"] = "created"
        except Conflict as refused:
            outcome["second"] = refused.code
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert outcome == {"first": "created", "second": "inn_taken"}
    assert Member.objects.filter(inn="7707083893").count() == 1
