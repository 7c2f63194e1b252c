"""Replays of a write get the first answer; a concurrent duplicate gets 409; reusing a key for another request, 422.

The key is claimed inside the work's own transaction — on PostgreSQL by a transaction-scoped advisory lock — and its
record is written and completed in that transaction, so an answer exists exactly when the change committed. A
concurrent duplicate finds the key held and gets 409 at once; a request that fails, or whose process dies, takes its
claim with it (PostgreSQL ends the dead connection's transaction), so a retry is served as soon as it comes — never
while the first attempt may still commit. The transaction is the outermost one, run again after a deadlock or
serialization failure (`core.retrying`).
"""

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja.responses import Status
from pydantic import BaseModel

from kopilka.api.auth import Principal, principal_of
from kopilka.core.errors import IdempotencyInProgress, IdempotencyKeyReused, ValidationFailed
from kopilka.core.models import IdempotencyRecord
from kopilka.core.retrying import outermost

LOCK_SPACE = 7311  # the advisory locks of idempotency keys: (LOCK_SPACE, hashtext(principal:key))
MAX_KEY_LENGTH = 200


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return json.loads(json.dumps(value, default=str))


def request_fingerprint(endpoint: str, payload: Any) -> str:
    canonical = json.dumps({"endpoint": endpoint, "payload": _jsonable(payload)}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str | None) -> str:
    if not key or not key.strip():
        raise ValidationFailed(
            _("The Idempotency-Key header is required for this request."), code="idempotency_key_required"
        )
    if len(key) > MAX_KEY_LENGTH:
        raise ValidationFailed(
            _("The Idempotency-Key header is longer than %(n)d characters.") % {"n": MAX_KEY_LENGTH},
            code="idempotency_key_invalid",
        )
    return key.strip()


def ledger_key(principal: Principal, key: str) -> str:
    """The key as the ledger stores it: scoped to the caller, so two integrations never collide."""
    return f"{principal.idempotency_scope}:{key}"


def run_idempotent(
    principal: Principal, key: str | None, endpoint: str, payload: Any, work: Callable[[], tuple[int, Any]]
) -> tuple[int, Any]:
    key = check_key(key)
    fingerprint = request_fingerprint(endpoint, payload)
    scope = principal.idempotency_scope

    def attempt() -> tuple[int, Any]:
        if (answered := _claim(scope, key, endpoint, fingerprint)) is not None:
            return answered
        status, body = work()
        body = _jsonable(body)
        IdempotencyRecord.objects.filter(principal=scope, key=key).update(
            response_status=status, response_body=body, completed_at=timezone.now()
        )
        return status, body

    return outermost(attempt)


def _claim(principal: str, key: str, endpoint: str, fingerprint: str) -> tuple[int, Any] | None:
    """Inside the write's transaction: the first answer when there is one (a replay), else None with the key
    claimed for this transaction. IdempotencyInProgress while another live transaction holds the key."""
    mine, found = _lock_and_read(principal, key)
    if found is not None and found.response_status is not None:
        return _replay(found, key, fingerprint)
    if not mine:
        raise IdempotencyInProgress(details={"key": key})
    if found is not None:  # left in progress by the way records were kept before: nobody holds it now
        if found.request_hash != fingerprint:
            raise IdempotencyKeyReused(details={"key": key, "first_used_for": found.endpoint})
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO core_idempotencyrecord (principal, key, endpoint, request_hash, created_at) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (principal, key) DO NOTHING RETURNING id",
            [principal, key, endpoint, fingerprint, timezone.now()],
        )
        if cursor.fetchone() is not None:
            return None
    # Answered and committed by a transaction that ended just as this one took the key.
    return _replay(IdempotencyRecord.objects.get(principal=principal, key=key), key, fingerprint)


def _lock_and_read(principal: str, key: str) -> tuple[bool, IdempotencyRecord | None]:
    """(whether this transaction now holds the key, the key's record if any), in one statement. On PostgreSQL
    the key is a transaction-scoped advisory lock, so a request that dies takes its claim with it; SQLite runs
    one write at a time."""
    if connection.vendor != "postgresql":
        return True, IdempotencyRecord.objects.filter(principal=principal, key=key).first()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_try_advisory_xact_lock(%s, hashtext(%s)), r.id FROM (SELECT 1) AS one "
            "LEFT JOIN core_idempotencyrecord r ON r.principal = %s AND r.key = %s",
            [LOCK_SPACE, f"{principal}:{key}", principal, key],
        )
        mine, record_id = cursor.fetchone()
    return mine, (IdempotencyRecord.objects.get(pk=record_id) if record_id is not None else None)


def _replay(found: IdempotencyRecord, key: str, fingerprint: str) -> tuple[int, Any]:
    if found.request_hash != fingerprint:
        raise IdempotencyKeyReused(details={"key": key, "first_used_for": found.endpoint})
    if found.response_status is None:
        raise IdempotencyInProgress(details={"key": key})
    return found.response_status, found.response_body


def idempotent_write(
    request, key: str | None, endpoint: str, payload: Any, work: Callable[[Principal], tuple[int, Any]],
) -> Status:
    """The shape of every write endpoint (its scope already granted, `auth.scoped`): run `work(principal)` once
    per idempotency key (`run_idempotent`) and answer with the status and body it returned."""
    principal = principal_of(request)
    return Status(*run_idempotent(principal, key, endpoint, payload, lambda: work(principal)))
