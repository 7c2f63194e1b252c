"""Running independent reads of one computation side by side, each on its own database connection.

Only on PostgreSQL and outside a transaction: inside one (a test, a caller's atomic block) other connections would
not see what it has not committed, so the reads then run one after the other on the caller's connection. Each
thread closes its connection when done.
"""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django.db import connection, connections

WORKERS = 3


def _on_own_connection(function: Callable):
    def run():
        try:
            return function()
        finally:
            connections.close_all()

    return run


def run_together(functions: dict[str, Callable]) -> dict[str, object]:
    """name → function() for every function, side by side when the database allows."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return {name: function() for name, function in functions.items()}
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = {name: pool.submit(_on_own_connection(function)) for name, function in functions.items()}
        return {name: future.result() for name, future in futures.items()}
