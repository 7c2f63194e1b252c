"""What the database's sessions wait for during a load: a thread samples pg_stat_activity every 50 ms and
counts the sessions of the measured database that wait for a lock, by the kind of lock and the waiting
statement.

A sample is one session waiting at one moment, so counts × 50 ms approximate the time spent waiting.
"""

import re
import threading
from collections import Counter

INTERVAL_S = 0.05
_WAITING = """
SELECT wait_event, left(query, 200) FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'
"""


class LockWaits:
    """Samples lock waits between `start()` and `stop()`; `stop()` returns the counts."""

    def __init__(self, url: str):
        self.url = url
        self.counts: Counter[str] = Counter()
        self.samples = 0

    def start(self) -> None:
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self._stopping.wait(INTERVAL_S):
                self.samples += 1
                for event, query in conn.execute(_WAITING).fetchall():
                    statement = re.sub(r"\s+", " ", query or "").strip()[:90]
                    self.counts[f"{event}: {statement}"] += 1

    def stop(self) -> dict:
        """The number of samples and, for each kind of wait seen, in how many sessions × samples (most
        first)."""
        self._stopping.set()
        self._thread.join()
        return {"samples": self.samples, "waits": dict(self.counts.most_common(8))}
