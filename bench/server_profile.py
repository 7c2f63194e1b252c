"""Where the web server's Python time goes under load: py-spy samples the thread that holds the interpreter
lock (the GIL) in each of gunicorn's workers while the load runs, and the samples are sorted by the step of
the order each was in.

py-spy is a sampling profiler that reads the processes from outside (no change to them, a few per cent of one
CPU); it comes from PyPI as a binary (`pip install py-spy`, better into a folder of its own than into the
project's environment: `pip install --target /tmp/bench-tools py-spy`), and it needs the right to trace the
server's processes (root, or ptrace allowed).

Only a thread holding the GIL runs Python, so the samples split the server's Python CPU (what `cpu` measures
as the server's) and leave out its waits — for PostgreSQL, for the lock, for requests. A sample counts for the
innermost step found on its stack; one inside psycopg (sending a statement, reading rows) counts as psycopg's.
"""

import subprocess
import tempfile
from collections import Counter

# The steps, innermost first: a sample counts for the first of them found on its stack (file, function).
STEPS = [
    ("the optimal points plan (solver)", "campaigns/redemption.py", "plan_redemption"),
    ("the quote, less the solver", "purchases/quote.py", "quote"),
    ("member facts", "campaigns/facts.py", "member_facts"),
    ("live campaigns", "campaigns/selectors.py", "live_campaigns"),
    ("campaign decisions", "campaigns/engine.py", "decide"),
    ("ledger accruals of the grants", "ledger/accruals.py", "accrue"),
    ("grants, less the accruals (budgets, usage)", "campaigns/granting.py", "grant"),
    ("records of the order's points (ORM inserts)", "purchases/flow.py", "_record"),
    ("tier recompute", "tiers/services.py", "recompute"),
    ("points locks", "campaigns/locking.py", "lock_points"),
    ("ledger hold", "ledger/holds.py", "hold"),
    ("ledger capture", "ledger/holds.py", "capture"),
    ("earning, the rest", "purchases/flow.py", "_earn"),
    ("paying, the rest (lock plan, the order's row, status)", "purchases/flow.py", "pay"),
    ("placing, the rest (checks, the order and its lines)", "purchases/flow.py", "place_order"),
    ("the order rendered for the answer", "api/purchases.py", "_order_out"),
    ("idempotency records of the API's writes", "api/idempotency.py", "run_idempotent"),
    ("django-ninja (validation, routing, rendering)", "ninja/operation.py", "run"),
    ("Django's request handling, middleware, authentication", "core/handlers/base.py", "get_response"),
    ("gunicorn (HTTP parsing, sockets)", "gunicorn/", ""),
]
IDLE = [("concurrent/futures/thread.py", "_worker"), ("gunicorn/workers/gthread.py", "run"),
        ("gunicorn/arbiter.py", "")]


def record(py_spy: str, pid: int, seconds: float) -> tuple[subprocess.Popen, str]:
    """Starts sampling the server whose master is `pid` and its workers for `seconds`; returns the process and
    the file the folded stacks go to."""
    output = tempfile.NamedTemporaryFile(prefix="kopilka-py-spy-", suffix=".txt", delete=False).name
    process = subprocess.Popen(
        [py_spy, "record", "--pid", str(pid), "--subprocesses", "--gil", "--nonblocking", "--rate", "200",
         "--duration", str(max(1, round(seconds))), "--format", "raw", "--output", output],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    return process, output


def _frames(stack: str) -> list[tuple[str, str]]:
    """(function, file) of each frame, outermost first."""
    frames = []
    for frame in stack.split(";"):
        function, _, where = frame.rpartition(" (")
        frames.append((function, where.rsplit(":", 1)[0]))
    return frames


def _named(function: str, name: str) -> bool:
    """py-spy names methods `Class.method` and nested functions `outer.<locals>.inner`."""
    return not name or function == name or function.endswith("." + name)


def _has(frames: list[tuple[str, str]], suffix: str, name: str) -> bool:
    return any((f.endswith(suffix) or (suffix.endswith("/") and suffix in f)) and _named(function, name)
               for function, f in frames)


def classify(stack: str) -> str | None:
    """What the sampled thread was doing: a step, psycopg's work, or None for a thread waiting for work."""
    frames = _frames(stack)
    if any("psycopg/" in where for _, where in frames[-3:]):
        return "psycopg (sending statements, reading rows)"
    busy = _has(frames, "core/handlers/base.py", "get_response") or _has(frames, "gunicorn/http/", "")
    if not busy:
        return None if any(_has(frames, suffix, name) for suffix, name in IDLE) else "other"
    for label, suffix, name in STEPS:
        if _has(frames, suffix, name):
            return label
    return "other"


def summarise(path: str, functions: int = 30) -> dict:
    """Shares of the samples (per cent), largest first: `by_step`, each sample counted for its innermost step
    (they add up to 100); `inclusive`, the platform's `functions` functions found on the most stacks (a
    function counts every sample it was on the stack of, so they nest)."""
    steps: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    with open(path) as folded:
        for line in folded:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not stack or not count.isdigit():
                continue
            label = classify(stack)
            if label is None:
                continue
            steps[label] += int(count)
            for function, where in set(_frames(stack)):
                if "kopilka/" in where:
                    inclusive[f"{where.split('kopilka/', 1)[1]}:{function}"] += int(count)
    total = sum(steps.values()) or 1
    return {
        "samples": total,
        "by_step": {label: round(100 * n / total, 1) for label, n in steps.most_common()},
        "inclusive": {name: round(100 * n / total, 1) for name, n in inclusive.most_common(functions)},
    }
