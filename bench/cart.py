"""Evaluate-cart latency and throughput over HTTP, at fixed request rates (open loop), on PostgreSQL.

The scene: a member with 50 lots from 10 active campaigns (conditions, product groups, coefficients, caps), a
20-line cart, the real web server (`kopilka serve`, gunicorn) on loopback. Requests are sent on a fixed
schedule whatever the answers do, and each latency counts from the moment its request was due, so a slow
server cannot hide its queue (no coordinated omission).

Prints one JSON line:
  rate      the request rate of the headline step (requests/s)
  p50_ms    median latency at that rate
  p99_ms    99th percentile at that rate                        (goal ≤ 25 at rate 100)
  max_rps   the highest rate of the ramp held with p99 ≤ 100 ms and no errors
  steps     every step of the ramp: rate, sent, errors, p50_ms, p99_ms

Usage: .venv/bin/python bench/cart.py [--database-url postgres://postgres@127.0.0.1:5432/kopilka_cart_bench]
           [--rate 100] [--seconds 10] [--ramp 25,50,75,100,125,150,200,300] [--workers 2] [--threads 4]
The database named is dropped and created anew.
"""

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from common import log, recreate_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

GROUPS = ["fillers", "biorev", "meso", "peels", "care", "consumables"]




def build_scene() -> tuple[str, dict]:
    """Catalogue, 10 campaigns, a member with 50 lots; returns an API token and the request body."""
    from django.core.management import call_command

    from kopilka.campaigns import services as campaigns
    from kopilka.catalog import services as catalog
    from kopilka.core import clock
    from kopilka.core.models import ApiKey
    from kopilka.customers import services as members
    from kopilka.customers.models import Tag
    from kopilka.ledger import services as ledger

    call_command("migrate", verbosity=0)
    for code in GROUPS:
        catalog.upsert_group(code=code, name=code.title())
    skus = [f"SKU-{n:02d}" for n in range(20)]
    catalog.upsert_products(
        {"sku": sku, "name": sku, "price": str(500 + 350 * n), "group": GROUPS[n % len(GROUPS)]}
        for n, sku in enumerate(skus)
    )
    start = clock.now() - timedelta(days=200)
    Tag.objects.create(code="doctor", name="Врач")
    member = members.create_member(last_name="Нагрузочная", tags=["doctor"], region_code="54", registered_at=start)
    for n in range(10):
        groups = [GROUPS[n % len(GROUPS)], GROUPS[(n + 2) % len(GROUPS)]]
        rules = {
            "accrual": {"reward": "percent", "percent": str(2 + n % 4), "include_groups": groups if n % 3 else []},
            "redemption": {"groups": groups if n % 2 else [], "coefficient": ["1", "1.5", "2"][n % 3],
                           "line_cap_percent": "50" if n % 4 == 0 else None},
            "expiry": {"kind": "days", "days": 365},
        }
        if n % 2:
            rules["conditions"] = {"type": "all", "of": [
                {"type": "tags", "tags": ["doctor"]}, {"type": "orders", "op": "lt", "value": 5 + n},
            ]}
        campaigns.create_campaign(code=f"c{n}", name=f"Campaign {n}", type="promo" if n % 2 else "base",
                                  starts_at=start, actor="bench", rules=rules, priority=100 + n)
        campaigns.change_status(code=f"c{n}", action="activate", actor="bench")
    for n in range(50):
        ledger.accrue(member_id=member.pk, points=200 + 37 * n, actor="bench", idempotency_key=f"lot-{n}",
                      category="promo" if n % 10 % 2 else "base", source=ledger.Source("campaign", f"c{n % 10}:v1"),
                      at=start + timedelta(days=n))
    _, token = ApiKey.issue("bench", ["purchases:read"])
    body = {
        "member": {"id": member.pk},
        "lines": [{"sku": sku, "quantity": 1 + n % 3, "price": str(500 + 350 * n)} for n, sku in enumerate(skus)],
        "points": "max",
    }
    return token, body


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, port: int, workers: int, threads: int) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "KOPILKA_LOG_LEVEL": "WARNING"}
    server = subprocess.Popen(
        [sys.executable, "-m", "kopilka.cli", "serve", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "--threads", str(threads)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("the web server did not start")


class _Connection:
    """One keep-alive HTTP/1.1 connection that sends a prepared request and reads the answer. Hand-written so
    that the load generator spends a small fraction of what the server does per request (it shares the CPUs)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> "_Connection":
        return cls(*await asyncio.open_connection(host, port))

    async def send(self, request: bytes) -> int:
        """The response's status code (its body read and dropped)."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length:
            await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()


def prepared_request(host: str, port: int, token: str, body: dict) -> bytes:
    payload = json.dumps(body).encode()
    return (
        f"POST /api/v1/purchases/evaluate HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    ).encode() + payload


async def run_step(host: str, port: int, request: bytes, rate: int, seconds: float) -> dict:
    """Sends `rate` requests a second for `seconds`, on schedule; latencies count from each request's due time.
    A request due while every open connection is busy opens another one."""
    latencies: list[float] = []
    errors = 0
    idle: list[_Connection] = []
    opened: list[_Connection] = []

    async def one(due: float) -> None:
        nonlocal errors
        try:
            connection = idle.pop() if idle else None
            status = None
            if connection is not None:
                try:
                    status = await asyncio.wait_for(connection.send(request), timeout=10)
                except (OSError, asyncio.IncompleteReadError):
                    connection.close()  # the server closed it while it was idle: like any client, ask again
                    connection = None
            if connection is None:
                connection = await _Connection.open(host, port)
                opened.append(connection)
                status = await asyncio.wait_for(connection.send(request), timeout=10)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            errors += 1
            return
        idle.append(connection)
        if status != 200:
            errors += 1
            return
        latencies.append(time.perf_counter() - due)

    total = int(rate * seconds)
    start = time.perf_counter() + 0.05
    tasks = []
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(due)))
    await asyncio.gather(*tasks)
    for connection in opened:
        connection.close()
    latencies.sort()

    def percentile(p: float) -> float | None:
        if not latencies:
            return None
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2)

    return {"rate": rate, "sent": total, "errors": errors, "p50_ms": percentile(0.50), "p99_ms": percentile(0.99)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kopilka_cart_bench"))
    parser.add_argument("--rate", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--ramp", default="25,50,75,100,125,150,200,300")
    parser.add_argument("--workers", type=int, default=2, help="web server processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per web server process")
    args = parser.parse_args()

    recreate_database(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kopilka.settings")
    import django

    django.setup()
    log("building the scene: 10 campaigns, a member with 50 lots, a 20-line cart ...")
    token, body = build_scene()
    from django.db import connections

    connections.close_all()
    port = free_port()
    server = start_server(args.database_url, port, args.workers, args.threads)
    try:
        request = prepared_request("127.0.0.1", port, token, body)
        asyncio.run(run_step("127.0.0.1", port, request, 10, 3))  # warm-up: imports, connections, caches
        steps = []
        for rate in sorted({int(r) for r in args.ramp.split(",")}):
            log(f"ramp: {rate}/s ...")
            step = asyncio.run(run_step("127.0.0.1", port, request, rate, args.seconds))
            steps.append(step)
            if step["errors"] or step["p99_ms"] is None or step["p99_ms"] > 100:
                break
            time.sleep(1)
        held = [s["rate"] for s in steps if not s["errors"] and s["p99_ms"] is not None and s["p99_ms"] <= 100]
        # The headline rate last, so that an overloaded step's queue cannot spill into the ramp.
        time.sleep(2)
        log(f"rate {args.rate}/s for {args.seconds:g}s ...")
        headline = asyncio.run(run_step("127.0.0.1", port, request, args.rate, args.seconds))
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(json.dumps({
        "rate": args.rate, "p50_ms": headline["p50_ms"], "p99_ms": headline["p99_ms"],
        "errors": headline["errors"], "max_rps": max(held, default=0), "workers": args.workers, "threads": args.threads,
        "steps": steps,
    }))


if __name__ == "__main__":
    main()
