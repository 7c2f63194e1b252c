"""Analytics on a large base (PostgreSQL): the KPI set and the RFM grid, next to a bare GROUP BY over the receipts.

Makes the bulk data set (`kopilka seed --bulk`: by default 1,000,000 members and 10,000,000 receipts over 24
months), then times what the analytics dashboard computes (`kopilka.analytics.measures.overview`) for the 12 months
that end on the as-of date, the last day with receipts: the KPI set (its reads side by side on their own connections,
one of them the pass over the purchases for the members' facts) and the 3×3×3 RFM grid from the same facts — in a
child process, so that its peak memory is its own and not the seed's. The reference is PostgreSQL's own time for
`SELECT member_id, count(*), sum(total) FROM orders_order GROUP BY member_id`, every row fetched, on the same
database in the same run: the best of `--rounds` after a warm-up. Compute is the best of `--compute-rounds`.

Prints one JSON line:
  members, receipts   the size of the base; as_of the date computed for
  seed_s              how long the bulk seed took (absent with --reuse; its steps go to standard error)
  compute_s           the compute's time; parts: the seconds of each of its parts in that round
  bare_s              the bare GROUP BY's best time; bare_rows its rows
  ratio               compute_s / bare_s                                   (goal: ≤ 3)
  peak_rss_mb         the compute process's peak resident memory           (goal: ≤ 4096)

Usage: .venv/bin/python bench/analytics.py
           [--database-url postgres://postgres@127.0.0.1:5432/kopilka_analytics_bench] [--members 1000000]
           [--receipts 10000000] [--months 24] [--reuse] [--rounds 3] [--compute-rounds 2]
           [--compute overview|rfm_summary]
The database named is dropped and created anew unless --reuse is given (then its data is measured as it is).
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from common import log, recreate_database, setup_django

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

BARE = "SELECT member_id, count(*), sum(total) FROM orders_order GROUP BY member_id"


def _overview(as_of: date, timed) -> None:
    """`analytics.measures.overview` for the 12 months up to `as_of` (its reads run side by side, so it is timed
    whole)."""
    from kopilka.analytics.data.scope import Scope
    from kopilka.analytics.measures.overview import overview

    timed("overview", overview, Scope(start=_year_before(as_of), end=as_of), "3x3x3")


def _rfm_summary(as_of: date, timed) -> None:
    """The BTYD summary of every member, for comparison."""
    from kopilka.analytics.measures import rfm

    timed("rfm_summary", lambda: list(rfm.summary(as_of)))


COMPUTES = {"overview": _overview, "rfm_summary": _rfm_summary}


def _year_before(as_of: date) -> date:
    """The first day of the 12 months that end with `as_of`."""
    try:
        return as_of.replace(year=as_of.year - 1) + timedelta(days=1)
    except ValueError:  # 29 February
        return as_of.replace(year=as_of.year - 1, day=28) + timedelta(days=1)


def _timer(parts: dict[str, float]):
    """A function that runs `function(*args)`, notes its seconds in `parts` under `name`, and returns its result."""

    def timed(name: str, function, *args):
        started = time.perf_counter()
        result = function(*args)
        parts[name] = time.perf_counter() - started
        return result

    return timed


def measure_compute(url: str, as_of: date, compute: str, rounds: int) -> None:
    """The child: the parts of the best of `rounds` (by their sum) and this process's peak RSS, as one JSON line."""
    setup_django(url)
    best: dict[str, float] | None = None
    for _ in range(rounds):
        parts: dict[str, float] = {}
        COMPUTES[compute](as_of, _timer(parts))
        if best is None or sum(parts.values()) < sum(best.values()):
            best = parts
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    print(json.dumps({"parts": {k: round(v, 3) for k, v in best.items()}, "peak_rss_mb": round(peak_kb / 1024, 1)}))


def bare_seconds(rounds: int) -> tuple[float, int]:
    """The bare GROUP BY, every row fetched: the best of `rounds` after a warm-up; (seconds, rows)."""
    from django.db import connection

    def run() -> int:
        with connection.cursor() as cursor:
            cursor.execute(BARE)
            return len(cursor.fetchall())

    run()
    times, rows = [], 0
    for _ in range(rounds):
        started = time.perf_counter()
        rows = run()
        times.append(time.perf_counter() - started)
    return min(times), rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kopilka_analytics_bench"))
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--receipts", type=int, default=10_000_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--reuse", action="store_true", help="measure the database as it is: no reset, no seed")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the bare query (best counts)")
    parser.add_argument("--compute-rounds", type=int, default=2, help="rounds of the compute (best counts)")
    parser.add_argument("--compute", choices=list(COMPUTES), default="overview",
                        help="what to time: the goal's KPI set and RFM grid, or the RFM summary (default %(default)s)")
    parser.add_argument("--measure-compute", metavar="AS_OF", help=argparse.SUPPRESS)  # the child's entry
    args = parser.parse_args()
    if args.measure_compute:
        measure_compute(args.database_url, date.fromisoformat(args.measure_compute), args.compute,
                        args.compute_rounds)
        return

    figures: dict = {}
    if not args.reuse:
        recreate_database(args.database_url)
    setup_django(args.database_url)
    from django.core.management import call_command
    from django.db import connection

    from kopilka.core import clock

    if not args.reuse:
        call_command("migrate", verbosity=0)
        log(f"seeding {args.members:,} members and {args.receipts:,} receipts ...")
        started = time.perf_counter()
        call_command("seed", "--bulk", "--members", str(args.members), "--receipts", str(args.receipts),
                     "--months", str(args.months), stdout=sys.stderr)  # standard output carries the JSON line
        figures["seed_s"] = round(time.perf_counter() - started, 1)
        log(f"  seeded in {figures['seed_s']:.0f} s")
    with connection.cursor() as cursor:
        cursor.execute("SELECT (SELECT COUNT(*) FROM customers_member), COUNT(*), MAX(purchased_at) FROM orders_order")
        members, receipts, last = cursor.fetchone()
    as_of = clock.local_date(last)

    bare, bare_rows = bare_seconds(args.rounds)
    log(f"bare GROUP BY: {bare:.2f} s, {bare_rows:,} rows")
    connection.close()  # the child gets the database's cache, not a competing session
    log(f"computing {args.compute} as of {as_of} ...")
    child = subprocess.run(
        [sys.executable, __file__, "--database-url", args.database_url, "--measure-compute", as_of.isoformat(),
         "--compute", args.compute, "--compute-rounds", str(args.compute_rounds)],
        check=True, capture_output=True, text=True,
    )
    measured = json.loads(child.stdout.strip().splitlines()[-1])
    compute = sum(measured["parts"].values())
    log(f"  {measured}")
    print(json.dumps({
        "members": members, "receipts": receipts, "as_of": as_of.isoformat(), **figures,
        "compute_s": round(compute, 3), "bare_s": round(bare, 3), "bare_rows": bare_rows,
        "ratio": round(compute / bare, 2), "peak_rss_mb": measured["peak_rss_mb"], "parts": measured["parts"],
    }))


if __name__ == "__main__":
    main()
