"""The statements an order sends to PostgreSQL: orders placed and paid in this process through Django's test
client, one at a time, with every statement timed at psycopg's execute (so the hand-written reads that bypass
Django's cursor wrapper count too), grouped by their text.

Call after `django.setup()`, on the database the orders' members live in. A statement's time is its round
trip: PostgreSQL's work and the wait for it; an order's time less its statements' is Python's (and the test
client's).
"""

import re
import time
import uuid

from common import log


def _text(query) -> str:
    """A statement's text, whitespace folded and cut, to group its executions."""
    if isinstance(query, bytes):
        query = query.decode(errors="replace")
    elif not isinstance(query, str):
        query = repr(query)
    return re.sub(r"\s+", " ", query).strip()[:110]


class StatementTimer:
    """While installed, times every psycopg execute: per statement text, how many and how long."""

    def __init__(self):
        self.by_text: dict[str, list] = {}

    def __enter__(self) -> "StatementTimer":
        import psycopg

        self._original = original = psycopg.Cursor.execute
        by_text = self.by_text

        def execute(cursor, query, params=None, **options):
            started = time.perf_counter()
            try:
                return original(cursor, query, params, **options)
            finally:
                entry = by_text.setdefault(_text(query), [0, 0.0])
                entry[0] += 1
                entry[1] += time.perf_counter() - started

        psycopg.Cursor.execute = execute
        return self

    def __exit__(self, *exc) -> None:
        import psycopg

        psycopg.Cursor.execute = self._original


def measure(token: str, members: list[int], points: int, orders: int, shown: int = 25) -> dict:
    """Places and pays `orders` orders for `members` in turn; logs the statements by time and returns, per
    order, the milliseconds, the milliseconds in statements and the number of statements."""
    from django.test import Client
    from purchase import cart

    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="127.0.0.1")
    run = uuid.uuid4().hex[:8]

    def order(n: int) -> None:
        body = {"order_id": f"statements-{run}-{n}", "member": {"id": members[n % len(members)]},
                "lines": cart(n), "points": points}
        placed = client.post("/api/v1/purchases/", body, content_type="application/json",
                             HTTP_IDEMPOTENCY_KEY=f"statements-{run}-{n}-place")
        assert placed.status_code == 201, placed.content
        paid = client.post(f"/api/v1/purchases/{placed.json()['id']}/pay",
                           HTTP_IDEMPOTENCY_KEY=f"statements-{run}-{n}-pay")
        assert paid.status_code == 200, paid.content

    for n in range(3):  # warm-up: prepared statements, caches
        order(n)
    with StatementTimer() as timer:
        started = time.perf_counter()
        for n in range(3, 3 + orders):
            order(n)
        wall = time.perf_counter() - started

    per_order = 1000 / orders
    count = sum(n for n, _ in timer.by_text.values()) / orders
    in_statements = sum(seconds for _, seconds in timer.by_text.values()) * per_order
    log(f"{orders} orders (place + pay) one at a time in this process: {wall * per_order:.1f} ms an order, "
        f"{in_statements:.1f} ms of it in {count:.1f} statements; by time (per order: count, ms):")
    for text, (n, seconds) in sorted(timer.by_text.items(), key=lambda item: -item[1][1])[:shown]:
        log(f"  {n / orders:5.1f} {seconds * per_order:6.2f}  {text}")
    return {"orders": orders, "ms": round(wall * per_order, 2), "statements_ms": round(in_statements, 2),
            "statements": round(count, 1)}
