"""API keys: read at most once every few seconds per process, so a revocation takes effect within that time; the
last use is recorded at most once a minute so that reads stay reads."""

from datetime import timedelta

import pytest

from kopilka.api import auth
from kopilka.core.models import ApiKey
from tests.conftest import ApiCaller

pytestmark = pytest.mark.django_db


@pytest.fixture
def seconds(monkeypatch):
    """The process's monotonic clock, as a list whose one item the test moves on."""
    now = [1000.0]
    monkeypatch.setattr(auth, "monotonic", lambda: now[0])
    return now


def test_a_keys_last_use_is_recorded_once_a_minute(caller_with, seconds):
    client = caller_with("members:read")
    key = ApiKey.objects.get()

    client.get("/api/v1/members/regions")
    first = ApiKey.objects.get().last_used_at
    seconds[0] += 59
    client.get("/api/v1/members/regions")
    assert ApiKey.objects.get().last_used_at == first is not None

    ApiKey.objects.filter(pk=key.pk).update(last_used_at=first - timedelta(minutes=2))
    seconds[0] += 1
    client.get("/api/v1/members/regions")
    assert ApiKey.objects.get().last_used_at > first


def test_a_new_process_records_no_use_the_key_had_within_the_minute(caller_with, seconds):
    client = caller_with("members:read")
    client.get("/api/v1/members/regions")
    first = ApiKey.objects.get().last_used_at

    auth.forget_keys()
    client.get("/api/v1/members/regions")

    assert ApiKey.objects.get().last_used_at == first


def test_a_revoked_key_works_for_at_most_the_cache_time_then_is_refused(caller_with, seconds):
    client = caller_with("members:read")
    assert client.get("/api/v1/members/regions").status_code == 200

    ApiKey.objects.update(is_active=False)
    seconds[0] += auth.KEY_CACHE_SECONDS - 0.1
    assert client.get("/api/v1/members/regions").status_code == 200
    seconds[0] += 0.1
    assert client.get("/api/v1/members/regions").status_code == 401


def test_a_changed_scope_takes_effect_within_the_cache_time(caller_with, seconds):
    client = caller_with("members:read")
    assert client.get("/api/v1/members/regions").status_code == 200

    ApiKey.objects.update(scopes=["ledger:read"])
    assert client.get("/api/v1/members/regions").status_code == 200
    seconds[0] += auth.KEY_CACHE_SECONDS
    assert client.get("/api/v1/members/regions").status_code == 403


def test_the_cache_keeps_at_most_its_size_and_no_refused_token(caller_with, seconds, monkeypatch):
    monkeypatch.setattr(auth, "KEY_CACHE_SIZE", 3)
    callers = [caller_with("members:read") for _ in range(5)]

    for caller in callers:
        assert caller.get("/api/v1/members/regions").status_code == 200
        assert 1 <= len(auth._keys) <= 3
    kept = len(auth._keys)
    assert ApiCaller("kpk_000000000000_wrong").get("/api/v1/members/regions").status_code == 401
    assert len(auth._keys) == kept
