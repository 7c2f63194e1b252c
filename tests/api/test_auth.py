"""API keys: the last use is recorded, at most once a minute so that reads stay reads."""

from datetime import timedelta

import pytest

from kopilka.core.models import ApiKey

pytestmark = pytest.mark.django_db


def test_a_keys_last_use_is_recorded_once_a_minute(caller_with):
    client = caller_with("members:read")
    key = ApiKey.objects.get()

    client.get("/api/v1/members/regions")
    first = ApiKey.objects.get().last_used_at
    client.get("/api/v1/members/regions")
    assert ApiKey.objects.get().last_used_at == first is not None

    ApiKey.objects.filter(pk=key.pk).update(last_used_at=first - timedelta(minutes=2))
    client.get("/api/v1/members/regions")
    assert ApiKey.objects.get().last_used_at > first
