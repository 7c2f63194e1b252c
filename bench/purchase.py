"""The payment path over HTTP on PostgreSQL: orders placed and paid through the purchase API by concurrent
clients, next to pgbench's TPC-B in the same run, with the campaigns' budgets and without them.

The scene: the programme of `scene` (20 products, 10 live campaigns, 3 of them with budgets that earn on every
product on payment), `--clients` × `--members` members each with 5 lots from those campaigns, the real web
server (`kopilka serve`, gunicorn) on loopback. Each client is a closed loop over its own members (no two
clients share a member), each order on a connection of its own: it places an order of 5 lines (2,000–20,000 ₽)
that spends `--points` points (`POST /purchases/`: the quote, the hold) and pays it (`POST /purchases/{id}/pay`:
the capture, what the order earns under the live campaigns, the tier), then the next. Each round runs pgbench
TPC-B (as many clients, 2 threads), the orders with the budgets and the orders with no budget (the same
campaigns, their budgets taken away), each after a CHECKPOINT; the order of the last two alternates between
rounds. Figures are medians over the rounds. A part with the budgets runs first, unmeasured, to warm the server
up (its threads' connections and prepared statements, the workers' lazy set-up).

Prints one JSON line:
  orders_per_s            orders placed and paid per second with the budgets
  pgbench_tps             pgbench TPC-B transactions per second, same server, same number of clients
  pay_ratio               orders_per_s / pgbench_tps (median of the rounds' ratios)          (goal ≥ 0.03)
  orders_per_s_no_budget  orders per second with no budgeted campaign
  budget_ratio            orders_per_s / orders_per_s_no_budget (median of the rounds' ratios) (goal ≥ 0.8)
  budget_cpu_ratio        the CPU an order cost the server and PostgreSQL with no budget ÷ with the budgets
                          (median of the rounds' ratios): budget_ratio without the noise of a shared machine
  p50_ms, p99_ms          of an order (place + pay) with the budgets; *_no_budget without them
  errors                  answers other than 201/200 or failed connections, over every round
  cpu_ms_per_order        CPU milliseconds an order cost the web server, PostgreSQL and the load client (with
                          the budgets; read from /proc, when PostgreSQL runs on this machine)
  machine_busy_pct        how busy the machine's CPUs were meanwhile; others_pct: the share of that busy time
                          used by none of the three (other work on a shared machine)
  lock_waits              sessions waiting for a lock, sampled every 50 ms during the orders with the budgets
                          (`waits`; per round in `rounds`)
  campaigns_per_order     mean number of campaigns an order earned under (with the budgets)
  budgets_exact           in every round with budgets, what each budget lost equals what its campaign granted
  reconcile_clean         the ledger's reconciliation after the run
  rounds                  every round's figures
  server_profile          with --py-spy: where the server's Python time went during one more part with the
                          budgets after the rounds, not counted in the figures (`server_profile`)
  in_process              with --statements N: N more orders placed and paid one at a time in this process,
                          every statement timed (`order_statements`; the statements by time go to standard
                          error)

Usage: .venv/bin/python bench/purchase.py
           [--database-url postgres://postgres@127.0.0.1:5432/kopilka_purchase_bench]
           [--clients 8] [--members 100] [--points 100] [--seconds 10] [--rounds 3]
           [--workers 2] [--threads 4]
           [--py-spy /tmp/bench-tools/bin/py-spy] [--statements 20]
The database named is dropped and created anew.
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import cpu
import server_profile
from common import checkpoint, drop_pgbench, init_pgbench, log, recreate_database, run_pgbench, setup_django
from loadgen import FAILURES, Connection, free_port, percentile, request, start_server, stop_server
from waits import LockWaits

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

BUDGET = 1_000_000_000  # never runs out during a run: the figure is about the locking, not about refusals
LINES = 5


@dataclass
class Load:
    """What a run of the clients did."""

    orders: int = 0
    seconds: float = 0.0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    sample: str = ""
    cpu: dict | None = None  # CPU milliseconds per order of each party (`cpu.Meter`)
    lock_waits: dict | None = None  # sessions waiting for locks meanwhile (`waits.LockWaits`)

    def figures(self) -> dict:
        self.latencies.sort()
        return {"orders_per_s": round(self.orders / self.seconds, 1), "orders": self.orders,
                "errors": self.errors, "p50_ms": percentile(self.latencies, 0.50),
                "p99_ms": percentile(self.latencies, 0.99), "cpu": self.cpu, "lock_waits": self.lock_waits}


def cart(n: int) -> list[dict]:
    """The lines of a client's `n`th order: 5 products in turn, 1–3 of each."""
    from scene import SKUS, price

    picked = [(n * LINES + j) % len(SKUS) for j in range(LINES)]
    return [{"sku": SKUS[k], "quantity": 1 + (n + k) % 3, "price": price(k)} for k in picked]


async def client(port: int, token: str, tag: str, members: list[int], points: int, deadline: float,
                 load: Load) -> None:
    """Places and pays orders for `members` in turn until `deadline`; each order's latency spans both requests,
    sent on a connection of the order's own (opened, used for place and pay, closed: as a till does per sale).

    A kept-alive connection stays with the server process that accepted it, and 8 of them split 4/4 between
    the 2 processes only about a quarter of the time: a run would measure one process saturated while the other
    idles. A connection per order spreads the orders over the processes evenly over time."""
    n = 0
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        body = {"order_id": f"{tag}-{n}", "member": {"id": members[n % len(members)]}, "lines": cart(n),
                "points": points}
        n += 1
        connection = None
        try:
            connection = await Connection.open(port)
            status, answer = await asyncio.wait_for(connection.send(request(
                "POST", "/api/v1/purchases/", port, token, body, {"Idempotency-Key": f"{tag}-{n}-place"},
            )), timeout=10)
            step = "place"
            if status == 201:
                order_id = json.loads(answer)["id"]
                status, answer = await asyncio.wait_for(connection.send(request(
                    "POST", f"/api/v1/purchases/{order_id}/pay", port, token, None,
                    {"Idempotency-Key": f"{tag}-{n}-pay"},
                )), timeout=10)
                step = "pay"
        except FAILURES as failure:
            load.errors += 1
            load.sample = load.sample or repr(failure)
            continue
        finally:
            if connection is not None:
                connection.close()
        load.statuses[f"{step} {status}"] = load.statuses.get(f"{step} {status}", 0) + 1
        if status not in (200, 201):
            load.errors += 1
            load.sample = load.sample or answer[:300].decode(errors="replace")
            continue
        load.latencies.append(time.perf_counter() - started)
        load.orders += 1


def drive(port: int, token: str, groups: list[list[int]], points: int, seconds: float,
          meter: cpu.Meter | None = None, url: str | None = None) -> Load:
    """One client per group of members, all at once, for `seconds`; `meter` measures the CPU meanwhile, and
    with the database's `url` the lock waits are sampled."""
    load = Load()
    run = uuid.uuid4().hex[:8]

    async def all_clients() -> None:
        deadline = time.perf_counter() + seconds
        await asyncio.gather(*(client(port, token, f"{run}-{i}", members, points, deadline, load)
                               for i, members in enumerate(groups)))

    sampler = LockWaits(url) if url else None
    if sampler is not None:
        sampler.start()
    if meter is not None:
        meter.start()
    started = time.perf_counter()
    asyncio.run(all_clients())
    load.seconds = time.perf_counter() - started
    if meter is not None:
        load.cpu = meter.stop(load.orders)
    if sampler is not None:
        load.lock_waits = sampler.stop()
    return load


def last_record() -> int:
    """The id of the newest record of points of an order (0 without any)."""
    from kopilka.orders.models import OrderPoints

    newest = OrderPoints.objects.order_by("-pk").values_list("pk", flat=True).first()
    return newest or 0


def earned_after(last: int) -> tuple[dict[str, int], int]:
    """Points earned per campaign code by the earn records after `last`, and how many records there are."""
    from kopilka.orders.models import OrderPoints

    by_code: dict[str, int] = {}
    records = 0
    for reference, points in OrderPoints.objects.filter(pk__gt=last, kind=OrderPoints.Kind.EARN).values_list(
        "campaign", "points"
    ):
        code = reference.rpartition(":v")[0]
        by_code[code] = by_code.get(code, 0) + points
        records += 1
    return by_code, records


def budgeted_round(port: int, token: str, groups: list[list[int]], args) -> tuple[Load, bool, float]:
    """The load with the budgets; whether each budget lost exactly what its campaign granted; campaigns an
    order earned under on average."""
    from django.db import connections
    from scene import BUDGETED, budgets_left, set_budgets

    set_budgets(BUDGET)
    last, before = last_record(), budgets_left()
    connections.close_all()
    checkpoint(args.database_url)
    load = drive(port, token, groups, args.points, args.seconds, args.meter, args.database_url)
    earned, records = earned_after(last)
    after = budgets_left()
    exact = all(before[code] - after[code] == earned.get(code, 0) for code in BUDGETED)
    if not exact:
        log(f"  budgets do not add up: left before {before}, after {after}, granted {earned}")
    connections.close_all()
    return load, exact, records / max(load.orders, 1)


def unbudgeted_round(port: int, token: str, groups: list[list[int]], args) -> Load:
    from django.db import connections
    from scene import set_budgets

    set_budgets(None)
    connections.close_all()
    checkpoint(args.database_url)
    return drive(port, token, groups, args.points, args.seconds, args.meter, args.database_url)


def profile_server(port: int, token: str, groups: list[list[int]], args, server_pid: int) -> dict:
    """One more part with the budgets, not counted in the figures, while py-spy samples the server."""
    from django.db import connections
    from scene import set_budgets

    set_budgets(BUDGET)
    connections.close_all()
    process, output = server_profile.record(args.py_spy, server_pid, args.seconds)
    drive(port, token, groups, args.points, args.seconds)
    process.wait()
    log(f"  the server's samples (py-spy, folded stacks): {output}")
    return server_profile.summarise(output)


def cpu_ratio(without: dict | None, with_budgets: dict | None) -> float | None:
    """The CPU an order cost the server and PostgreSQL with no budget ÷ with the budgets: like budget_ratio,
    but blind to what other work on the machine took from the run."""
    if not without or not with_budgets:
        return None
    return round((without["server_ms"] + without["postgres_ms"])
                 / (with_budgets["server_ms"] + with_budgets["postgres_ms"]), 3)


def vacuum_analyze(url: str) -> None:
    """Statistics for the planner on the tables the scene filled."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def lock_waits(rounds: list[dict]) -> dict[str, int]:
    """The lock waits sampled during the parts with the budgets, added up over the rounds (most first)."""
    total: Counter[str] = Counter()
    for figures in rounds:
        total.update((figures["budgets"]["lock_waits"] or {}).get("waits", {}))
    return dict(total.most_common(8))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kopilka_purchase_bench"))
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients: the API's and pgbench's")
    parser.add_argument("--members", type=int, default=100, help="members of each client")
    parser.add_argument("--points", type=int, default=100, help="points each order spends")
    parser.add_argument("--seconds", type=float, default=10, help="length of each measured part of a round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="web server processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per web server process")
    parser.add_argument("--statements", type=int, default=20, metavar="ORDERS",
                        help="orders placed and paid in this process afterwards, statements timed (0: none)")
    parser.add_argument("--py-spy", metavar="EXECUTABLE",
                        help="py-spy, to sample the server during the last round's orders with the budgets")
    args = parser.parse_args()

    recreate_database(args.database_url)
    setup_django(args.database_url)
    from django.db import connections
    from scene import add_members, build_programme, issue_token

    log(f"building the scene: 10 campaigns (3 budgeted), {args.clients} × {args.members} members with 5 lots "
        "...")
    start = build_programme(BUDGET)
    members = add_members(args.clients * args.members, lots=5, points=5000, since=start)
    groups = [members[i::args.clients] for i in range(args.clients)]
    token = issue_token(["purchases:read", "purchases:write"])
    init_pgbench(args.database_url)
    connections.close_all()
    vacuum_analyze(args.database_url)

    port = free_port()
    server = start_server(args.database_url, port, args.workers, args.threads)
    try:
        args.meter = cpu.Meter(server.pid, cpu.postmaster_pid(args.database_url))
    except RuntimeError as remote:
        log(f"{remote}")
        args.meter = None
    rounds = []
    try:
        # A whole part unmeasured first: each server thread's connection, its prepared statements and the
        # workers' lazy set-up are paid for here, not by the first measured part.
        log(f"warm-up: orders with the budgets, {args.seconds:g}s ...")
        drive(port, token, groups, args.points, args.seconds)
        for n in range(1, args.rounds + 1):
            log(f"round {n}/{args.rounds}: pgbench TPC-B, {args.clients} clients, {args.seconds:g}s ...")
            checkpoint(args.database_url)
            tps = run_pgbench(args.database_url, args.clients, 2, args.seconds)
            parts = ["budgets", "none"] if n % 2 else ["none", "budgets"]
            for part in parts:
                what = "with the budgets" if part == "budgets" else "no budget"
                log(f"round {n}/{args.rounds}: orders, {what}, {args.clients} clients, {args.seconds:g}s ...")
                if part == "budgets":
                    budgeted, exact, per_order = budgeted_round(port, token, groups, args)
                else:
                    unbudgeted = unbudgeted_round(port, token, groups, args)
            with_budgets, without = budgeted.figures(), unbudgeted.figures()
            rounds.append({
                "pgbench_tps": round(tps, 1), "budgets": with_budgets, "no_budget": without,
                "pay_ratio": round(with_budgets["orders_per_s"] / tps, 4),
                # None when no order got through without the budgets (every answer an error: see `statuses`)
                "budget_ratio": (round(with_budgets["orders_per_s"] / without["orders_per_s"], 3)
                                 if without["orders_per_s"] else None),
                "budget_cpu_ratio": cpu_ratio(without["cpu"], with_budgets["cpu"]),
                "budgets_exact": exact, "campaigns_per_order": round(per_order, 2),
                "statuses": {**budgeted.statuses,
                             **{f"no budget {k}": v for k, v in unbudgeted.statuses.items()}},
            })
            if budgeted.sample or unbudgeted.sample:
                log(f"  an error: {budgeted.sample or unbudgeted.sample}")
            log(f"  {with_budgets['orders_per_s']} orders/s with the budgets "
                f"(p99 {with_budgets['p99_ms']} ms), {without['orders_per_s']} without; {tps:.0f} tps; "
                f"CPU with the budgets: {with_budgets['cpu']}")
        if args.py_spy:
            log(f"the server under load with the budgets, sampled by py-spy, {args.seconds:g}s ...")
            profile = profile_server(port, token, groups, args, server.pid)
            log(f"  share of the server's samples (%): {profile}")
    finally:
        stop_server(server)
    drop_pgbench(args.database_url)

    from kopilka.ledger.reconcile import reconcile

    def median(*path: str) -> float | None:
        values = []
        for figures in rounds:
            for key in path:
                figures = figures[key]
            values.append(figures)
        values = [value for value in values if value is not None]
        return round(statistics.median(values), 4 if path[-1].endswith("ratio") else 2) if values else None

    figures = {
        "orders_per_s": median("budgets", "orders_per_s"),
        "pgbench_tps": median("pgbench_tps"),
        "pay_ratio": median("pay_ratio"),
        "orders_per_s_no_budget": median("no_budget", "orders_per_s"),
        "budget_ratio": median("budget_ratio"),
        "budget_cpu_ratio": median("budget_cpu_ratio") if args.meter else None,
        "p50_ms": median("budgets", "p50_ms"), "p99_ms": median("budgets", "p99_ms"),
        "p50_ms_no_budget": median("no_budget", "p50_ms"), "p99_ms_no_budget": median("no_budget", "p99_ms"),
        "errors": sum(r["budgets"]["errors"] + r["no_budget"]["errors"] for r in rounds),
        "campaigns_per_order": median("campaigns_per_order"),
        "cpu_ms_per_order": {party: median("budgets", "cpu", party) for party in ("server_ms", "postgres_ms",
                                                                                  "client_ms")}
        if args.meter else None,
        "machine_busy_pct": median("budgets", "cpu", "machine_busy_pct") if args.meter else None,
        "others_pct": median("budgets", "cpu", "others_pct") if args.meter else None,
        "lock_waits": lock_waits(rounds),
        "budgets_exact": all(r["budgets_exact"] for r in rounds),
        "reconcile_clean": reconcile().clean,
        "clients": args.clients, "workers": args.workers, "threads": args.threads, "rounds": rounds,
    }
    if args.py_spy:
        figures["server_profile"] = profile
    if args.statements:
        from order_statements import measure

        figures["in_process"] = measure(token, members, args.points, args.statements)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
