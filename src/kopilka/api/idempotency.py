"""Replays of a write get the first answer; a concurrent duplicate gets 409; reusing a key for another request, 422.

The record is committed as "in progress" before the work starts (so a concurrent duplicate sees it), and completed in
the same transaction as the work (so an answer is stored only for a change that was committed). The work's
transaction is the outermost one, run again after a deadlock or serialization failure (`core.retrying`). A failed
request releases its key. A record left in progress by a crashed process may be taken over after STALE_AFTER.
"""

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja.responses import Status
from pydantic import BaseModel

from kopilka.api.auth import Principal, require_scope
from kopilka.core import idempotency_records as records
from kopilka.core.errors import IdempotencyInProgress, IdempotencyKeyReused, ValidationFailed
from kopilka.core.retrying import outermost

STALE_AFTER = timedelta(minutes=2)
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
    record = _claim(principal.idempotency_scope, key, endpoint, fingerprint)
    if record.response_status is not None:
        return record.response_status, record.response_body

    def complete() -> tuple[int, Any]:
        status, body = work()
        body = _jsonable(body)
        records.complete(record.id, status, body, timezone.now())
        return status, body

    try:
        status, body = outermost(complete)
    except BaseException:
        records.release(record.id)
        raise
    return status, body


def _claim(principal: str, key: str, endpoint: str, fingerprint: str) -> records.Claimed:
    record = records.claim(principal, key, endpoint, fingerprint, timezone.now())
    if record.new:
        return record
    if record.request_hash != fingerprint:
        raise IdempotencyKeyReused(details={"key": key, "first_used_for": record.endpoint})
    if record.response_status is not None:
        return record
    if timezone.now() - record.created_at < STALE_AFTER or not records.take_over(record, timezone.now()):
        raise IdempotencyInProgress(details={"key": key})
    return record


def idempotent_write(
    request, scope: str, key: str | None, endpoint: str, payload: Any,
    work: Callable[[Principal], tuple[int, Any]],
) -> Status:
    """The shape of every write endpoint: require `scope`, then run `work(principal)` once per idempotency key
    (`run_idempotent`) and answer with the status and body it returned."""
    principal = require_scope(request, scope)
    return Status(*run_idempotent(principal, key, endpoint, payload, lambda: work(principal)))
