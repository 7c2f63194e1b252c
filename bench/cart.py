"""Evaluate-cart latency and throughput over HTTP, at fixed request rates (open loop), on PostgreSQL, next to
a bare authenticated read driven the same way in the same run.

The scene: a member with 50 lots from 10 live campaigns (conditions, product groups, coefficients, caps; 3 of
them with budgets), a 20-line cart, the real web server (`kopilka serve`, gunicorn) on loopback. The cart
changes from request to request: 1,000 distinct carts (one line's quantity raised by 1 to 50), sent in turn,
so that no answer is one the server worked out a moment ago (the points planner remembers its last 256 plans;
`--same-cart` sends the one cart every time, which measures that memo instead). The
reference: `GET` the balance of another member, who has one lot (`/ledger/members/{id}/balance`, scope
ledger:read) — a request that passes through the same server, authentication and database, but does almost
nothing. Requests are sent on a fixed schedule whatever the answers do, and each latency counts from the
moment its request was due, so a slow server cannot hide its queue (no coordinated omission). Both ramps go up
together, step by step, each going on until it fails (p99 > 100 ms or an error, in a step and in its repeat: a
stall of a shared machine fails one step, a rate the server cannot hold fails both): past the last rate of
`--ramp` the rate grows by an eighth each step (at least 25/s), up to `--max-rate`, so that neither side's
`max_rps` is more than about an eighth short of what it can hold. Then `--rounds` alternating rounds at `--rate`,
one of each.

Prints one JSON line:
  rate         the request rate of the headline rounds (requests/s)
  p50_ms       evaluate's median latency at that rate (median over the rounds)
  p99_ms       evaluate's 99th percentile at that rate (median over the rounds)
  max_rps      the highest rate of evaluate's ramp held with p99 ≤ 100 ms and no errors (at once or on repeat)
  ref_p50_ms, ref_p99_ms, ref_max_rps    the same of the reference read
  p99_ratio    p99_ms / ref_p99_ms                                       (goal ≤ 2)
  rps_ratio    max_rps / ref_max_rps                                     (goal ≥ 0.5)
  cpu_ms, ref_cpu_ms   CPU milliseconds a request cost the web server, PostgreSQL and the load client during
               the rounds (medians; read from /proc: PostgreSQL must run on this machine)
  machine_busy_pct, others_pct   how busy the CPUs were during the rounds, and the share of that used by none
               of the three (other work on a shared machine)
  pgbench_tps  pgbench TPC-B on the same server before the ramps (--clients clients, 2 threads): how fast the
               machine was that day
  budgeted     how many of the live campaigns have a budget
  carts        how many distinct carts evaluate sent in turn (1 with --same-cart)
  steps, ref_steps, rounds   every step of the ramps (rate, sent, errors, p50_ms, p99_ms) and of the rounds

Usage: .venv/bin/python bench/cart.py [--database-url postgres://postgres@127.0.0.1:5432/kopilka_cart_bench]
           [--rate 100] [--seconds 10] [--rounds 3] [--ramp 25,50,75,100,125,150,175,200,225,250,275,300]
           [--max-rate 5000] [--workers 2] [--threads 4] [--clients 8] [--same-cart]
The database named is dropped and created anew.
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

import cpu
from common import checkpoint, drop_pgbench, init_pgbench, log, recreate_database, run_pgbench, setup_django
from loadgen import free_port, open_loop, request, start_server, stop_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

P99_LIMIT_MS = 100
BUDGET = 100_000_000
CARTS = 1000  # distinct carts, four times the plans the planner remembers


def build_scene() -> tuple[str, dict, int]:
    """The programme (10 campaigns, 3 budgeted), a member with 50 lots and one with a single lot; returns an
    API token, the evaluate body of the base cart and the id of the member of the reference read."""
    from scene import SKUS, add_members, build_programme, issue_token, price

    start = build_programme(BUDGET)
    [member] = add_members(1, lots=50, points=200, since=start, prefix="cart")
    [reference] = add_members(1, lots=1, points=1000, since=start, prefix="ref")
    token = issue_token(["purchases:read", "ledger:read"])
    body = {
        "member": {"id": member},
        "lines": [{"sku": sku, "quantity": 1 + n % 3, "price": price(n)} for n, sku in enumerate(SKUS)],
        "points": "max",
    }
    return token, body, reference


def varied_carts(body: dict, count: int) -> list[dict]:
    """`count` distinct carts, none the base cart: cart i raises the quantity of line i mod 20 by 1 + i div 20."""
    lines = body["lines"]
    carts = []
    for i in range(count):
        changed = [dict(line) for line in lines]
        changed[i % len(lines)]["quantity"] += 1 + i // len(lines)
        carts.append({**body, "lines": changed})
    return carts


def ramp_rates(listed: str, max_rate: int):
    """The rates of `--ramp`, then an eighth more each step (rounded down to 25, at least 25 more), up to
    `max_rate`."""
    rates = sorted({int(r) for r in listed.split(",")})
    yield from rates
    rate = rates[-1]
    while (rate := max(rate + 25, int(rate * 1.125 / 25) * 25)) <= max_rate:
        yield rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kopilka_cart_bench"))
    parser.add_argument("--rate", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of both at --rate")
    parser.add_argument("--ramp", default="25,50,75,100,125,150,175,200,225,250,275,300")
    parser.add_argument("--max-rate", type=int, default=5000, help="where a ramp stops if it has not failed")
    parser.add_argument("--workers", type=int, default=2, help="web server processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per web server process")
    parser.add_argument("--clients", type=int, default=8, help="pgbench's clients")
    parser.add_argument("--same-cart", action="store_true", help="send one cart every time (measures the memo)")
    args = parser.parse_args()

    recreate_database(args.database_url)
    setup_django(args.database_url)
    log("building the scene: 10 campaigns (3 budgeted), a member with 50 lots, a 20-line cart ...")
    token, body, reference = build_scene()
    from django.db import connections

    connections.close_all()
    log(f"pgbench TPC-B, {args.clients} clients, {args.seconds:g}s ...")
    init_pgbench(args.database_url)
    checkpoint(args.database_url)
    tps = run_pgbench(args.database_url, args.clients, 2, args.seconds)
    drop_pgbench(args.database_url)
    checkpoint(args.database_url)

    port = free_port()
    server = start_server(args.database_url, port, args.workers, args.threads)
    try:
        carts = [body] if args.same_cart else varied_carts(body, CARTS)
        sides = {
            "evaluate": [request("POST", "/api/v1/purchases/evaluate", port, token, cart) for cart in carts],
            "reference": request("GET", f"/api/v1/ledger/members/{reference}/balance", port, token),
        }
        for prepared in sides.values():  # warm-up: imports, connections, caches
            asyncio.run(open_loop(port, prepared, 10, 3))
        steps: dict[str, list] = {side: [] for side in sides}
        going = set(sides)
        for rate in ramp_rates(args.ramp, args.max_rate):
            for side in [s for s in sides if s in going]:
                log(f"ramp: {side} at {rate}/s ...")
                step = asyncio.run(open_loop(port, sides[side], rate, args.seconds))
                steps[side].append(step)
                if not step.held(P99_LIMIT_MS):
                    # Once more before giving up: a stall of the shared machine fails one step, a rate beyond
                    # what the server holds fails both.
                    log(f"  {side} missed at {rate}/s (p99 {step.p99_ms} ms), once more ...")
                    time.sleep(2)
                    step = asyncio.run(open_loop(port, sides[side], rate, args.seconds))
                    steps[side].append(step)
                if not step.held(P99_LIMIT_MS):
                    log(f"  {side} failed at {rate}/s: p99 {step.p99_ms} ms, answers {step.statuses}")
                    going.discard(side)
                time.sleep(1)
            if not going:
                break
        # The headline rounds last, so that an overloaded step's queue cannot spill into the ramps.
        time.sleep(2)
        rounds: dict[str, list] = {side: [] for side in sides}
        used: dict[str, list] = {side: [] for side in sides}
        meter = cpu.Meter(server.pid, cpu.postmaster_pid(args.database_url))
        for n in range(1, args.rounds + 1):
            for side in sides:
                log(f"round {n}/{args.rounds}: {side} at {args.rate}/s for {args.seconds:g}s ...")
                meter.start()
                step = asyncio.run(open_loop(port, sides[side], args.rate, args.seconds))
                rounds[side].append(step)
                used[side].append(meter.stop(step.sent))
                log(f"  p50 {step.p50_ms} ms, p99 {step.p99_ms} ms, CPU per request {used[side][-1]}")
                time.sleep(1)
    finally:
        stop_server(server)

    def median(side: str, figure: str) -> float | None:
        values = [getattr(step, figure) for step in rounds[side] if getattr(step, figure) is not None]
        return round(statistics.median(values), 2) if values else None

    def max_rps(side: str) -> int:
        return max((s.rate for s in steps[side] if s.held(P99_LIMIT_MS)), default=0)

    def cpu_ms(side: str) -> dict:
        return {party: round(statistics.median(u[party] for u in used[side]), 2)
                for party in ("server_ms", "postgres_ms", "client_ms")}

    p99, ref_p99 = median("evaluate", "p99_ms"), median("reference", "p99_ms")
    print(json.dumps({
        "rate": args.rate, "p50_ms": median("evaluate", "p50_ms"), "p99_ms": p99,
        "errors": sum(s.errors for s in rounds["evaluate"]), "max_rps": max_rps("evaluate"),
        "ref_p50_ms": median("reference", "p50_ms"), "ref_p99_ms": ref_p99,
        "ref_errors": sum(s.errors for s in rounds["reference"]), "ref_max_rps": max_rps("reference"),
        "p99_ratio": round(p99 / ref_p99, 2) if p99 and ref_p99 else None,
        "rps_ratio": round(max_rps("evaluate") / max_rps("reference"), 2) if max_rps("reference") else None,
        "cpu_ms": cpu_ms("evaluate"), "ref_cpu_ms": cpu_ms("reference"),
        "machine_busy_pct": statistics.median(u["machine_busy_pct"] for s in sides for u in used[s]),
        "others_pct": statistics.median(u["others_pct"] for s in sides for u in used[s]),
        "pgbench_tps": round(tps, 1), "budgeted": 3, "carts": len(carts), "workers": args.workers,
        "threads": args.threads,
        "steps": [s.figures() for s in steps["evaluate"]],
        "ref_steps": [s.figures() for s in steps["reference"]],
        "rounds": {side: [s.figures() for s in rounds[side]] for side in sides},
    }))


if __name__ == "__main__":
    main()
