"""Set-based SQL that PostgreSQL and SQLite both run: a list of ids or of (member, text, moment) rows handed to one
statement as one parameter (an array on PostgreSQL, JSON on SQLite), a fresh UUID per row, and running a write."""

import json
from collections.abc import Sequence
from datetime import datetime

from django.db import connection

from kopilka.core import sql


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def in_ids(column: str) -> str:
    """SQL true where `column` is one of the ids given as `ids(...)`."""
    return f"{column} = ANY(%s::bigint[])" if _postgres() else f"{column} IN (SELECT value FROM json_each(%s))"


def ids(values: Sequence[int]) -> str:
    """The parameter of `in_ids` and `id_rows`."""
    return sql.array(values) if _postgres() else json.dumps(list(values))


def id_rows() -> str:
    """A table of one column `id`, one row per id of the parameter `ids(...)`."""
    return "SELECT unnest(%s::bigint[]) AS id" if _postgres() else "SELECT value AS id FROM json_each(%s)"


def visit_rows() -> str:
    """A table (id, member_id) of the parameters `visit_rows_params(...)`: visits and their members."""
    if _postgres():
        return "SELECT * FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, member_id)"
    return ("SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS member_id "
            "FROM json_each(%s)")


def visit_rows_params(visits: Sequence[tuple[int, int]]) -> list:
    if _postgres():
        return [sql.array([v[0] for v in visits]), sql.array([v[1] for v in visits])]
    return [json.dumps([list(v) for v in visits])]


def member_rows() -> str:
    """A table (member_id, label, at) of the parameter `member_rows_param(...)`."""
    if _postgres():
        return "SELECT * FROM unnest(%s::bigint[], %s::text[], %s::timestamptz[]) AS r(member_id, label, at)"
    return ("SELECT json_extract(value, '$[0]') AS member_id, json_extract(value, '$[1]') AS label, "
            "json_extract(value, '$[2]') AS at FROM json_each(%s)")


def member_rows_params(rows: Sequence[tuple[int, str, datetime]]) -> list:
    if _postgres():
        return [sql.array([r[0] for r in rows]), sql.array([r[1] for r in rows]), sql.array([r[2] for r in rows])]
    return [json.dumps([[member_id, label, sql.at(at)] for member_id, label, at in rows])]


def new_uuid() -> str:
    """SQL for a random UUID as a UUIDField stores it."""
    return "gen_random_uuid()" if _postgres() else "lower(hex(randomblob(16)))"


def concat(*parts: str) -> str:
    """SQL joining texts and integers into text."""
    return " || ".join(f"CAST({part} AS TEXT)" if not part.startswith("'") else part for part in parts)


def kept_apart() -> str:
    """What ends a subquery in FROM so that PostgreSQL works it out on its own: pulled up into the outer query, each
    use of one of its computed columns would compute it again (OFFSET 0 keeps it apart)."""
    return " OFFSET 0" if _postgres() else ""


def uncompiled() -> None:
    """PostgreSQL, for the rest of the transaction: no JIT compilation. A batch's statements are planned anew each
    time and their cost estimates pass JIT's threshold; compiling one took longer than running it."""
    if _postgres():
        write("SET LOCAL jit = off")


def write(statement: str, params: Sequence = ()) -> int:
    """Run one write; returns how many rows it touched."""
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        if cursor.rowcount < 0 and not _postgres():  # SQLite's driver does not count a write that starts with WITH
            cursor.execute("SELECT changes()")
            return cursor.fetchone()[0]
        return cursor.rowcount
