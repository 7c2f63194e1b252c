import itertools
from datetime import UTC, datetime

import pytest

from kopilka.core import clock
from kopilka.customers.models import Member

_keys = itertools.count()


def new_key(prefix: str = "k") -> str:
    return f"{prefix}-{next(_keys)}"


def make_member(**fields) -> Member:
    fields.setdefault("last_name", "Иванова")
    fields.setdefault("registered_at", clock.now())
    return Member.objects.create(**fields)


@pytest.fixture
def member(db) -> Member:
    return make_member()


T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
