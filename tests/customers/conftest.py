"""Reference books and API callers shared by the members tests."""

from datetime import UTC, datetime

import pytest
from django.utils import translation

from kopilka.customers.models import EligibilityFlag, Tag

NOW = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def english():
    """Messages are asserted in English, whatever translations the deployment carries."""
    with translation.override("en"):
        yield


@pytest.fixture
def frozen_now(monkeypatch) -> datetime:
    """The services' clock stands still at NOW."""
    monkeypatch.setattr("kopilka.core.clock.now", lambda: NOW)
    return NOW


@pytest.fixture
def reference_books(db) -> None:
    Tag.objects.create(code="doctor", name="Врач")
    Tag.objects.create(code="clinic-a", name="Клиника категории A")
    EligibilityFlag.objects.create(code="certified-injector", name="Сертифицированный инъектор")


@pytest.fixture
def api(caller_with):
    return caller_with("members:read", "members:write")
