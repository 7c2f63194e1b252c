"""The real web server (`kopilka serve`, gunicorn) on loopback, and a lean keep-alive HTTP/1.1 client.

The client is hand-written so that it spends a small fraction of what the server does per request: it shares
the machine's CPUs with the server and the database. Two ways of driving it:

- `open_loop`: requests sent on a fixed schedule whatever the answers do; each latency counts from the
  moment its request was due, so a slow server cannot hide its queue (no coordinated omission);
- `Connection.send` in a loop of one's own: a closed-loop client, like pgbench's, that sends its next
  request when the answer to the last one came.
"""

import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field

HOST = "127.0.0.1"
TIMEOUT_S = 10


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_server(url: str, port: int, workers: int, threads: int) -> subprocess.Popen:
    """`kopilka serve` on the database of `url`, once it accepts connections."""
    env = {"KOPILKA_SECRET_KEY": secrets.token_urlsafe(48),  # a throwaway server's own key, unless one is set
           **os.environ, "DATABASE_URL": url, "KOPILKA_LOG_LEVEL": "WARNING"}
    server = subprocess.Popen(
        [sys.executable, "-m", "kopilka.cli", "serve", "--bind", f"{HOST}:{port}", "--workers", str(workers),
         "--threads", str(threads)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("the web server did not start")


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    server.wait(timeout=30)


def request(method: str, path: str, port: int, token: str, body: dict | None = None,
            headers: dict[str, str] | None = None) -> bytes:
    """A complete HTTP/1.1 request, ready to send (keep-alive is HTTP/1.1's default)."""
    payload = json.dumps(body).encode() if body is not None else b""
    head = f"{method} {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAuthorization: Bearer {token}\r\n"
    for name, value in (headers or {}).items():
        head += f"{name}: {value}\r\n"
    if body is not None:
        head += "Content-Type: application/json\r\n"
    head += f"Content-Length: {len(payload)}\r\n\r\n"
    return head.encode() + payload


class Connection:
    """One keep-alive HTTP/1.1 connection that sends a prepared request and reads the answer."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> "Connection":
        return cls(*await asyncio.open_connection(HOST, port))

    async def send(self, prepared: bytes) -> tuple[int, bytes]:
        """The response's status code and body."""
        self.writer.write(prepared)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        body = await self.reader.readexactly(length) if length else b""
        return status, body

    def close(self) -> None:
        self.writer.close()


FAILURES = (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError)


def percentile(sorted_seconds: list[float], p: float) -> float | None:
    """The `p` quantile of sorted latencies in seconds, in milliseconds (None without any)."""
    if not sorted_seconds:
        return None
    return round(sorted_seconds[min(len(sorted_seconds) - 1, int(p * len(sorted_seconds)))] * 1000, 2)


@dataclass
class Step:
    """One step of an open-loop ramp."""

    rate: int
    sent: int
    errors: int
    p50_ms: float | None
    p99_ms: float | None
    statuses: dict[int, int] = field(default_factory=dict)

    def held(self, p99_limit_ms: float) -> bool:
        return not self.errors and self.p99_ms is not None and self.p99_ms <= p99_limit_ms

    def figures(self) -> dict:
        return {"rate": self.rate, "sent": self.sent, "errors": self.errors, "p50_ms": self.p50_ms,
                "p99_ms": self.p99_ms}


async def open_loop(port: int, prepared: bytes | list[bytes], rate: int, seconds: float, ok: int = 200) -> Step:
    """Sends `rate` requests a second for `seconds`, on schedule; latencies count from each request's due
    time. A request due while every open connection is busy opens another one. An answer other than `ok` is an
    error. A list of prepared requests is sent in turn, round and round."""
    requests = [prepared] if isinstance(prepared, bytes) else prepared
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    idle: list[Connection] = []
    opened: list[Connection] = []

    async def one(due: float, prepared: bytes) -> None:
        nonlocal errors
        try:
            connection = idle.pop() if idle else None
            status = None
            if connection is not None:
                try:
                    status, _ = await asyncio.wait_for(connection.send(prepared), timeout=TIMEOUT_S)
                except (OSError, asyncio.IncompleteReadError):
                    connection.close()  # the server closed it while it was idle: like any client, ask again
                    connection = None
            if connection is None:
                connection = await Connection.open(port)
                opened.append(connection)
                status, _ = await asyncio.wait_for(connection.send(prepared), timeout=TIMEOUT_S)
        except FAILURES:
            errors += 1
            return
        idle.append(connection)
        statuses[status] = statuses.get(status, 0) + 1
        if status != ok:
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
        tasks.append(asyncio.create_task(one(due, requests[i % len(requests)])))
    await asyncio.gather(*tasks)
    for connection in opened:
        connection.close()
    latencies.sort()
    return Step(rate, total, errors, percentile(latencies, 0.50), percentile(latencies, 0.99), statuses)
