"""CPU time spent by each party of a benchmark — the web server, PostgreSQL, the load client — read from
Linux's /proc, so a run can say what each request cost in CPU and whether the machine's CPUs were the limit.

A party is a process and its descendants; the CPU of descendants that ended meanwhile is counted through their
parent's "children" times (PostgreSQL ends a backend when its connection closes), so `Meter` deltas are exact
for processes that live through the measurement and for those that end in it.
"""

import os
import time
from dataclasses import dataclass

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()  # the fields after the command name (which may hold spaces)


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit() and (fields := _stat(int(name))) is not None:
            tree.setdefault(int(fields[1]), []).append(int(name))
    return tree


def tree_seconds(root: int) -> float:
    """CPU seconds of `root` and all its descendants, those that ended included (once their parent reaped
    them)."""
    tree = _children()
    total, stack, first = 0.0, [root], True
    while stack:
        pid = stack.pop()
        fields = _stat(pid)
        if fields is None:
            continue
        # utime and stime (fields 14, 15); for the root also cutime and cstime (16, 17), its ended children's.
        # An ended grandchild is not counted: PostgreSQL's backends and gunicorn's workers are children.
        used = int(fields[11]) + int(fields[12])
        if first:
            used += int(fields[13]) + int(fields[14])
            first = False
        total += used / TICK
        stack.extend(tree.get(pid, []))
    return total


def machine_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all CPUs."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    total = sum(values[:8])  # up to steal; guest time is already in user
    return (total - idle) / TICK, total / TICK


def self_seconds() -> float:
    """CPU seconds of this process (every thread)."""
    times = os.times()
    return times.user + times.system


@dataclass
class Meter:
    """CPU seconds of the server's process tree, PostgreSQL's, this process and the machine, between `start()`
    and `stop()`."""

    server_pid: int
    postgres_pid: int

    def _read(self) -> tuple[float, ...]:
        busy, total = machine_seconds()
        return (tree_seconds(self.server_pid), tree_seconds(self.postgres_pid), self_seconds(), busy, total,
                time.perf_counter())

    def start(self) -> None:
        self._start = self._read()

    def stop(self, requests: int) -> dict:
        """Milliseconds of CPU per request of each party, the machine's CPUs busy (per cent of all) and the
        share of that busy time that none of the three used (other work on the machine)."""
        end = self._read()
        server, postgres, client, busy, total, _ = (b - a for a, b in zip(self._start, end, strict=True))
        per = 1000 / max(requests, 1)
        return {
            "server_ms": round(server * per, 2), "postgres_ms": round(postgres * per, 2),
            "client_ms": round(client * per, 2),
            "machine_busy_pct": round(100 * busy / total, 1) if total else None,
            "others_pct": round(100 * max(busy - server - postgres - client, 0) / busy, 1) if busy else None,
        }


def postmaster_pid(url: str) -> int:
    """The PostgreSQL server's main process, the parent of a backend (the server must run on this machine)."""
    import psycopg

    with psycopg.connect(url) as conn:  # the backend lives as long as its connection
        fields = _stat(conn.execute("SELECT pg_backend_pid()").fetchone()[0])
    if fields is None:
        raise RuntimeError("PostgreSQL does not run on this machine: no CPU accounting")
    return int(fields[1])
