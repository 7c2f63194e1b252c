"""Running work in threads that start at the same moment, for the PostgreSQL concurrency tests."""

import threading

from django.db import connection


def run_at_once(n: int, work) -> list:
    """Starts n threads together, thread i running work(i); returns what each returned or raised, in order.
    Each thread closes its own database connection."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def runner(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except Exception as exc:  # noqa: BLE001 - the test inspects what each thread met
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(index,)) for index in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
