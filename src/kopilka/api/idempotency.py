"""Replays of a write get the first answer; a concurrent duplicate gets 409; reusing a key for another request, 422.

The key is claimed inside the work's own transaction — on PostgreSQL by a transaction-scoped advisory lock — and its
record, with the answer, is written by one statement at the end of that transaction, so an answer exists exactly
when the change committed. Should a transaction that held the key commit its answer between this one's read and
its claim, the insert finds it: this transaction is rolled back and the stored answer given. A
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
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja.responses import Status
from pydantic import BaseModel

from kopilka.api.auth import Principal, principal_of
from kopilka.api.base import api
from kopilka.core import sql
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


class _AnsweredMeanwhile(Exception):
    """The key's answer was committed by another transaction after this one read it: undo this one's work."""


def run_idempotent(
    principal: Principal, key: str | None, endpoint: str, payload: Any, work: Callable[[], tuple[int, Any]]
) -> tuple[int, Any]:
    """`work()` once per key: (status, body) of the first attempt that committed. A body of `bytes` is the answer's
    JSON already rendered; it is stored as it is and given back as bytes (a replay gives the parsed body)."""
    key = check_key(key)
    fingerprint = request_fingerprint(endpoint, payload)
    scope = principal.idempotency_scope

    def attempt() -> tuple[int, Any]:
        if (answered := _claim(scope, key, fingerprint)) is not None:
            return answered
        status, body = work()
        if not isinstance(body, bytes):
            body = _jsonable(body)
        text = body.decode() if isinstance(body, bytes) else json.dumps(body)
        if not _record(scope, key, endpoint, fingerprint, status, text):
            raise _AnsweredMeanwhile
        return status, body

    try:
        return outermost(attempt)
    except _AnsweredMeanwhile:
        return _replay(IdempotencyRecord.objects.get(principal=scope, key=key), key, fingerprint)


def forget_member_answers(member_id: int, erased: Any, external_ids: list[tuple[str, str]]) -> int:
    """Inside an erasure's transaction: the stored answers that describe member `member_id` (the members'
    writes answer with the member) are replaced by `erased`, the erased member's description, and those of
    attaching the member's `external_ids` (system, value) lose the value, so that no personal data outlives the
    erasure in them and a replay tells the truth. Returns how many were changed."""
    changed = IdempotencyRecord.objects.filter(
        endpoint__startswith="members.", response_body__id=member_id,
    ).update(response_body=_jsonable(erased))
    for system, value in external_ids:
        changed += IdempotencyRecord.objects.filter(
            endpoint="members.external_id", response_body__system=system, response_body__value=value,
        ).update(response_body={"system": system, "value": ""})
    return changed


def _claim(principal: str, key: str, fingerprint: str) -> tuple[int, Any] | None:
    """Inside the write's transaction: the first answer when there is one (a replay), else None with the key
    claimed for this transaction. IdempotencyInProgress while another live transaction holds the key."""
    mine, found = _lock_and_read(principal, key)
    if found is not None and found.response_status is not None:
        return _replay(found, key, fingerprint)
    if not mine:
        raise IdempotencyInProgress(details={"key": key})
    if found is not None and found.request_hash != fingerprint:  # left in progress by an older version
        raise IdempotencyKeyReused(details={"key": key, "first_used_for": found.endpoint})
    return None


def _record(principal: str, key: str, endpoint: str, fingerprint: str, status: int, body: str) -> bool:
    """The key's record with its answer, written by one statement (completing a record an older version left in
    progress); False when an answer was already there."""
    now = sql.at(timezone.now())
    body_value = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    return bool(sql.rows(
        "INSERT INTO core_idempotencyrecord (principal, key, endpoint, request_hash, created_at, "
        f"response_status, response_body, completed_at) VALUES (%s, %s, %s, %s, %s, %s, {body_value}, %s) "
        "ON CONFLICT (principal, key) DO UPDATE SET response_status = excluded.response_status, "
        "response_body = excluded.response_body, completed_at = excluded.completed_at "
        "WHERE core_idempotencyrecord.response_status IS NULL RETURNING id",
        [principal, key, endpoint, fingerprint, now, status, body, now],
    ))


def _lock_and_read(principal: str, key: str) -> tuple[bool, IdempotencyRecord | None]:
    """(whether this transaction now holds the key, the key's record if any), in one statement. On PostgreSQL
    the key is a transaction-scoped advisory lock, so a request that dies takes its claim with it; SQLite runs
    one write at a time."""
    if connection.vendor != "postgresql":
        return True, IdempotencyRecord.objects.filter(principal=principal, key=key).first()
    mine, record_id = sql.driver_rows(
        "SELECT pg_try_advisory_xact_lock(%s, hashtext(%s)), r.id FROM (SELECT 1) AS one "
        "LEFT JOIN core_idempotencyrecord r ON r.principal = %s AND r.key = %s",
        [LOCK_SPACE, f"{principal}:{key}", principal, key], one=True, binary=True,
    )
    return mine, (IdempotencyRecord.objects.get(pk=record_id) if record_id is not None else None)


def _replay(found: IdempotencyRecord, key: str, fingerprint: str) -> tuple[int, Any]:
    if found.request_hash != fingerprint:
        raise IdempotencyKeyReused(details={"key": key, "first_used_for": found.endpoint})
    if found.response_status is None:
        raise IdempotencyInProgress(details={"key": key})
    return found.response_status, found.response_body


def idempotent_write(
    request, key: str | None, endpoint: str, payload: Any, work: Callable[[Principal], tuple[int, Any]],
) -> Status | HttpResponse:
    """The shape of every write endpoint (its scope already granted, `auth.scoped`): run `work(principal)` once
    per idempotency key (`run_idempotent`) and answer with the status and body it returned."""
    principal = principal_of(request)
    status, body = run_idempotent(principal, key, endpoint, payload, lambda: work(principal))
    if isinstance(body, bytes):
        return HttpResponse(body, status=status, content_type=api.get_content_type())
    return Status(status, body)
