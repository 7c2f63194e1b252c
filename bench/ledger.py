"""Ledger throughput and expiry speed on PostgreSQL, each next to a reference measured in the same run.

Prints one JSON line:
  ops_per_s     spend+accrue operations per second through the service layer, 8 concurrent workers (threads with
                their own connections, in as many processes as there are CPUs)
  pgbench_tps   pgbench's built-in TPC-B transactions per second, same server, same clients and client threads
  ops_ratio     ops_per_s / pgbench_tps                                  (goal ≥ 0.5)
                (rounds of pgbench and of the service layer alternate, each after a CHECKPOINT; each figure is the
                median over the rounds)
  expire_s      seconds for `expire()` to burn N lots (entries, snapshots, lot remainders)
  update_s      seconds for a bare `UPDATE ledger_lot SET remaining = held` of the same rows (triggers off)
  expiry_ratio  expire_s / update_s                                      (goal ≤ 2)
                (each round on fresh lots in a new database, both after a CHECKPOINT; medians over the rounds)

Usage: .venv/bin/python bench/ledger.py [--database-url postgres://postgres@127.0.0.1:5432/kopilka_bench]
           [--workers 8] [--processes CPUs] [--seconds 10] [--rounds 3] [--expiry-rounds 3] [--lots 1000000]
           [--members 100000]
           [--only ops|expiry]
The database named is dropped and created anew. `--only` runs one part (to iterate on it); the figures of the part
not run are left out of the JSON line.
"""

import argparse
import json
import multiprocessing
import os
import random
import statistics
import sys
import time
from pathlib import Path

from common import drop_pgbench, init_pgbench, log, recreate_database, run_pgbench, setup_django

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


def _ops_process(url: str, member_ids: list[int], threads: int, seconds: float, ready, queue) -> None:
    """`threads` workers in one process, each with its own database connection, spending and accruing in turns."""
    setup_django(url)
    import threading

    from django.db import connection

    from kopilka.ledger import services

    counts: list[int] = []

    def work(n: int) -> None:
        connection.ensure_connection()
        mine = member_ids[n::threads]
        rng = random.Random(f"{os.getpid()}-{n}")
        tag = f"w{os.getpid()}-{n}"
        ops = 0
        ready.wait()  # every worker set up and connected before the clock starts
        deadline = time.time() + seconds
        while time.time() < deadline:
            member_id = rng.choice(mine)
            if ops % 2:
                services.spend(member_id=member_id, points=10, actor="bench", idempotency_key=f"{tag}-{ops}")
            else:
                services.accrue(member_id=member_id, points=10, actor="bench", idempotency_key=f"{tag}-{ops}")
            ops += 1
        counts.append(ops)
        connection.close()

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    queue.put(sum(counts))


def bench_members(workers: int) -> list[int]:
    """Members the workers spend from and accrue to, each with a large first lot."""
    from kopilka.core import clock
    from kopilka.customers.models import Member
    from kopilka.ledger import services

    members = Member.objects.bulk_create(
        [Member(last_name=f"Bench {i}", registered_at=clock.now()) for i in range(workers * 50)]
    )
    for m in members:
        services.accrue(member_id=m.pk, points=1_000_000, actor="bench", idempotency_key=f"seed-{m.pk}")
    return [m.pk for m in members]


def measure_ops(url: str, ids: list[int], workers: int, processes: int, seconds: int) -> float:
    """Spend+accrue operations per second of `workers` concurrent workers spread over `processes` processes (as
    pgbench spreads its clients over threads)."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    ready = ctx.Barrier(workers + 1)
    shares = [workers // processes + (1 if i < workers % processes else 0) for i in range(processes)]
    procs = [
        ctx.Process(target=_ops_process, args=(url, ids[i::processes], share, seconds, ready, queue))
        for i, share in enumerate(shares)
    ]
    for p in procs:
        p.start()
    ready.wait()
    total = sum(queue.get() for _ in procs)
    for p in procs:
        p.join()
    return total / seconds


def make_due_lots(lots: int, members: int) -> None:
    """`lots` accrued lots of `members` members, all past expiry, booked consistently (entries, snapshots)."""
    from django.db import connection

    from kopilka.core import clock
    from kopilka.customers.models import Member

    now = clock.now()
    batch = 20_000
    for start in range(0, members, batch):
        Member.objects.bulk_create(
            [Member(last_name=f"Due {i}", registered_at=now) for i in range(start, min(members, start + batch))]
        )
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO ledger_account (member_id, balance, held, updated_at) "
            "SELECT id, 0, 0, now() FROM customers_member WHERE last_name LIKE 'Due %%'"
        )
        cur.execute("SELECT id FROM ledger_lotcategory WHERE code = 'base'")
        base = cur.fetchone()[0]
        cur.execute("SELECT min(id), count(*) FROM ledger_account a WHERE NOT EXISTS "
                    "(SELECT 1 FROM ledger_lot l WHERE l.account_id = a.id) AND a.balance = 0")
        first, count = cur.fetchone()
        cur.execute(
            """
            INSERT INTO ledger_lot (account_id, category_id, source_kind, source_ref, amount, remaining, held,
                                    accrued_at, activates_at, expires_at, is_debt)
            SELECT %(first)s + (g %% %(count)s), %(base)s, 'bench', '', 100, 100, 0,
                   now() - interval '400 days', now() - interval '400 days',
                   now() - interval '1 day' - (g %% 1000) * interval '1 minute', false
            FROM generate_series(0, %(lots)s - 1) g
            """,
            {"first": first, "count": count, "base": base, "lots": lots},
        )
        cur.execute(
            """
            INSERT INTO ledger_entry (account_id, kind, amount, balance_after, lot_id, source_kind, source_ref,
                                      reason_code, comment, actor, fingerprint, effective_at, created_at)
            SELECT account_id, 'accrual', amount,
                   SUM(amount) OVER (PARTITION BY account_id ORDER BY id), id, 'bench', '', '', '', 'bench', '',
                   accrued_at, now()
            FROM ledger_lot WHERE source_kind = 'bench'
            """
        )
        cur.execute(
            "UPDATE ledger_account a SET balance = s.total FROM "
            "(SELECT account_id, SUM(remaining) AS total FROM ledger_lot GROUP BY account_id) s "
            "WHERE s.account_id = a.id"
        )
        cur.execute("VACUUM ANALYZE")


def checkpoint() -> None:
    """Write out what earlier steps left in the WAL, so that a timed step does not pay for their checkpoint."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("CHECKPOINT")


def measure_bare_update(as_of) -> float:
    from django.db import connection, transaction

    checkpoint()
    with transaction.atomic(), connection.cursor() as cur:
        # The reference writes the rows and nothing else: the ledger's check that a remainder follows its entries
        # (migration ledger 0010) would refuse this UPDATE, and is part of what expire() costs.
        cur.execute("SET LOCAL session_replication_role = replica")
        started = time.perf_counter()
        cur.execute(
            "UPDATE ledger_lot SET remaining = held WHERE expires_at <= %s AND spendable AND NOT is_debt",
            [as_of],
        )
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE ledger_lot")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL",
                                                                 "postgres://postgres@127.0.0.1:5432/kopilka_bench"))
    parser.add_argument("--workers", type=int, default=8, help="concurrent clients: pgbench's and the services'")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 2,
                        help="processes the service workers run in (pgbench's -j: its client threads)")
    parser.add_argument("--seconds", type=int, default=10, help="length of each measured round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of pgbench and of the services")
    parser.add_argument("--expiry-rounds", type=int, default=3, help="rounds of expiry, each on fresh lots")
    parser.add_argument("--lots", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--only", choices=["ops", "expiry"], help="run only this part")
    args = parser.parse_args()

    recreate_database(args.database_url)
    setup_django(args.database_url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    figures: dict = {"workers": args.workers}
    if args.only in (None, "ops"):
        figures.update(run_ops_part(args))
    if args.only in (None, "expiry"):
        figures.update(run_expiry_part(args))
    print(json.dumps(figures))


def run_ops_part(args) -> dict:
    """Alternating rounds of pgbench and of the service layer, so that both see the same machine; the figures are
    the medians over the rounds."""
    init_pgbench(args.database_url)
    ids = bench_members(args.workers)
    rounds = []
    for n in range(1, args.rounds + 1):
        log(f"round {n}/{args.rounds}: pgbench TPC-B, {args.workers} clients, {args.seconds}s ...")
        checkpoint()
        tps = run_pgbench(args.database_url, args.workers, args.processes, args.seconds)
        log(f"round {n}/{args.rounds}: service layer spend+accrue, {args.workers} workers in {args.processes} "
            f"processes, {args.seconds}s ...")
        checkpoint()
        ops = measure_ops(args.database_url, ids, args.workers, args.processes, args.seconds)
        rounds.append((ops, tps, ops / tps))
        log(f"  {ops:.0f} ops/s, {tps:.0f} tps, ratio {ops / tps:.3f}")
    drop_pgbench(args.database_url)
    return {
        "rounds": args.rounds,
        "ops_per_s": round(statistics.median(r[0] for r in rounds), 1),
        "pgbench_tps": round(statistics.median(r[1] for r in rounds), 1),
        "ops_ratio": round(statistics.median(r[2] for r in rounds), 3),
    }


def run_expiry_part(args) -> dict:
    """Rounds of: fresh due lots, the bare UPDATE, then `expire()`; the figures are the medians over the rounds.
    Every round after the first starts from a new database."""
    from kopilka.core import clock
    from kopilka.ledger.expiry import expire
    from kopilka.ledger.reconcile import reconcile

    rounds = []
    clean = True
    for n in range(1, args.expiry_rounds + 1):
        if n > 1:
            fresh_database(args.database_url)
        log(f"expiry round {n}/{args.expiry_rounds}: making {args.lots:,} due lots of {args.members:,} members ...")
        make_due_lots(args.lots, args.members)
        as_of = clock.now()
        log("  bare UPDATE of the same rows (rolled back) ...")
        update_s = measure_bare_update(as_of)
        log("  expire() ...")
        checkpoint()
        started = time.perf_counter()
        result = expire(as_of=as_of)
        expire_s = time.perf_counter() - started
        clean = clean and reconcile().clean
        rounds.append((expire_s, update_s, expire_s / update_s))
        log(f"  {expire_s:.1f} s vs {update_s:.1f} s, ratio {expire_s / update_s:.3f}")
    return {
        "lots_expired": result.lots,
        "expiry_rounds": args.expiry_rounds,
        "expire_s": round(statistics.median(r[0] for r in rounds), 3),
        "update_s": round(statistics.median(r[1] for r in rounds), 3),
        "expiry_ratio": round(statistics.median(r[2] for r in rounds), 3),
        "reconcile_clean": clean,
    }


def fresh_database(url: str) -> None:
    from django.core.management import call_command
    from django.db import connections

    from kopilka.ledger import reference

    connections.close_all()
    recreate_database(url)
    call_command("migrate", verbosity=0)
    reference.forget()


if __name__ == "__main__":
    main()
