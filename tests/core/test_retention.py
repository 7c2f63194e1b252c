"""The first answers of API writes are kept KOPILKA["IDEMPOTENCY_DAYS"] (longer than a till's offline buffer),
then pruned by the worker's daily job; a record still in progress stays."""

from datetime import timedelta

from kopilka.core import clock
from kopilka.core.models import IdempotencyRecord
from kopilka.core.retention import prune_idempotency


def _record(key: str, age_days: int, *, done: bool = True) -> None:
    made = IdempotencyRecord.objects.create(principal="apikey:pos", key=key, endpoint="e", request_hash="h",
                                            response_status=201 if done else None, response_body={} if done else None)
    IdempotencyRecord.objects.filter(pk=made.pk).update(created_at=clock.now() - timedelta(days=age_days))


def test_old_answers_are_pruned_and_recent_or_unfinished_ones_kept(db, settings):
    settings.KOPILKA = {**settings.KOPILKA, "IDEMPOTENCY_DAYS": 45}
    _record("old", 46)
    _record("recent", 44)
    _record("stuck", 60, done=False)
    assert prune_idempotency.call(clock.now().isoformat()) == 1
    assert sorted(IdempotencyRecord.objects.values_list("key", flat=True)) == ["recent", "stuck"]
