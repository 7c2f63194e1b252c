"""The records of idempotent requests, written by hand-written SQL: every API write claims one, then completes or
releases it, so each of these is one statement (claiming a key seen before takes a second one on SQLite, or when
the first answer was committed while the claim ran).

- `claim` inserts the record in progress unless (principal, key) has one, and answers with the record either way,
  without an IntegrityError (`ON CONFLICT DO NOTHING`), so no savepoint is needed around it;
- `complete` stores the answer (call it in the work's transaction: an answer is stored only for a committed change);
- `release` deletes a record still in progress (the request failed); `take_over` moves a stale one's start to now,
  unless another request took it first.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection

from kopilka.core import sql
from kopilka.core.models import IdempotencyRecord

_TABLE = IdempotencyRecord._meta.db_table
_COLUMNS = "id, endpoint, request_hash, response_status, response_body, created_at"


@dataclass(frozen=True)
class Claimed:
    """The record as `claim` found or made it; `new` when this claim inserted it."""

    id: int
    endpoint: str
    request_hash: str
    response_status: int | None
    response_body: Any
    created_at: datetime
    new: bool


_INSERT = f"""
INSERT INTO {_TABLE} (principal, key, endpoint, request_hash, response_status, response_body, created_at, completed_at)
VALUES (%(principal)s, %(key)s, %(endpoint)s, %(request_hash)s, NULL, NULL, %(now)s, NULL)
ON CONFLICT (principal, key) DO NOTHING RETURNING {_COLUMNS}
"""
_EXISTING = f"SELECT {_COLUMNS} FROM {_TABLE} WHERE principal = %(principal)s AND key = %(key)s"
_CLAIM = f"""
WITH new AS ({_INSERT})
SELECT *, true FROM new
UNION ALL
SELECT {_COLUMNS}, false FROM {_TABLE} WHERE principal = %(principal)s AND key = %(key)s
    AND NOT EXISTS (SELECT 1 FROM new)
"""


def claim(principal: str, key: str, endpoint: str, request_hash: str, now: datetime) -> Claimed:
    params = {"principal": principal, "key": key, "endpoint": endpoint, "request_hash": request_hash,
              "now": sql.at(now)}
    if connection.vendor == "postgresql":
        found = sql.rows(_CLAIM, params)
    else:
        found = [(*row, True) for row in sql.rows(_INSERT, params)]
    if not found:  # the record was committed after this statement's snapshot was taken, or on SQLite
        found = [(*row, False) for row in sql.rows(_EXISTING, params)]
    pk, endpoint_, request_hash_, status, body, created_at, new = found[0]
    return Claimed(pk, endpoint_, request_hash_, status, sql.document(body), sql.moment(created_at), bool(new))


def complete(record_id: int, status: int, body: Any, now: datetime) -> None:
    cast = "::jsonb" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_TABLE} SET response_status = %s, response_body = %s{cast}, completed_at = %s WHERE id = %s",
            [status, json.dumps(body), sql.at(now), record_id],
        )


def release(record_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {_TABLE} WHERE id = %s AND response_status IS NULL", [record_id])


def take_over(record: Claimed, now: datetime) -> bool:
    """Whether this request took the stale record over (no other request did since it was read)."""
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {_TABLE} SET created_at = %s WHERE id = %s AND created_at = %s",
                       [sql.at(now), record.id, sql.at(record.created_at)])
        return cursor.rowcount == 1
