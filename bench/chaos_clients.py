"""The fault test's clients (`chaos.py`): flows of purchases, returns, events and compensations, every request
sent again with its idempotency key, on a new connection, until it gets a definite answer."""

import asyncio
import json
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from chaos_faults import HOST, Processes

REQUEST_TIMEOUT_S = 20  # one attempt; a killed server drops its connections at once, so this is for a hung one
GIVE_UP_S = 120  # a request still without a definite answer after this long is counted unanswered
BACKOFF_S = 0.1  # between two attempts of a request
POINTS = (0, 50, 100, 200)
REASON = "compensation-complaint"


@dataclass
class Op:
    """One operation: a request sent until it got a definite answer."""

    kind: str  # place, pay, return, ship, cancel, event, compensation
    key: str
    member: int
    order: int | None = None  # the order's id (every kind but place knows it before; place learns it)
    external_id: str = ""
    points: int = 0
    status: int | None = None
    answer: Any = None
    location: str = ""
    attempts: int = 0
    failed_at: float | None = None  # the first attempt without a definite answer
    retry_s: float | None = None

    @property
    def acknowledged(self) -> bool:
        if self.kind == "compensation":
            return self.status == 302 and self.location.rstrip("/").endswith(f"/members/{self.member}")
        return self.status is not None and 200 <= self.status < 300


@dataclass
class Client:
    """What the clients share: where to send, the token, and every operation made."""

    port: int
    token: str
    processes: Processes
    ops: list[Op] = field(default_factory=list)

    def api(self, method: str, path: str, key: str, body: dict | None) -> bytes:
        payload = json.dumps(body).encode() if body is not None else b""
        head = (f"{method} {path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\nAuthorization: Bearer {self.token}\r\n"
                f"Idempotency-Key: {key}\r\nConnection: close\r\nContent-Length: {len(payload)}\r\n")
        if body is not None:
            head += "Content-Type: application/json\r\n"
        return head.encode() + b"\r\n" + payload

    def form(self, path: str, fields: dict[str, str], session: str, csrf: str) -> bytes:
        payload = urlencode({**fields, "csrfmiddlewaretoken": csrf}).encode()
        head = (f"POST {path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\nCookie: sessionid={session}; csrftoken={csrf}"
                f"\r\nContent-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n"
                f"Content-Length: {len(payload)}\r\n")
        return head.encode() + b"\r\n" + payload

    async def exchange(self, raw: bytes) -> tuple[int, dict[str, str], bytes]:
        reader, writer = await asyncio.open_connection(HOST, self.port)
        try:
            writer.write(raw)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            body = await reader.read()  # Connection: close — the answer ends with the connection
        finally:
            writer.close()
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" in headers and len(body) < int(headers["content-length"]):
            # The server died while it wrote the answer: the client has no answer, as after no answer at all.
            raise asyncio.IncompleteReadError(body, int(headers["content-length"]))
        return int(lines[0].split(" ", 2)[1]), headers, body

    async def send(self, op: Op, raw: bytes) -> Op:
        """Sends `raw` until a definite answer (or GIVE_UP_S); records the answer and the retry's length."""
        self.ops.append(op)
        began = time.monotonic()
        while True:
            op.attempts += 1
            try:
                status, headers, body = await asyncio.wait_for(self.exchange(raw), REQUEST_TIMEOUT_S)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
                status, headers, body = None, {}, b""
            answer = None
            if status is not None and headers.get("content-type", "").startswith("application/json"):
                try:
                    answer = json.loads(body)
                except ValueError:
                    answer = None
            in_progress = status == 409 and isinstance(answer, dict) and answer.get("code") == "idempotency_in_progress"
            if status is None or status >= 500 or in_progress:
                op.failed_at = op.failed_at or time.monotonic()
                if time.monotonic() - began > GIVE_UP_S:
                    return op
                await asyncio.sleep(BACKOFF_S)
                continue
            op.status, op.answer, op.location = status, answer, headers.get("location", "")
            if op.failed_at is not None:
                # From the server's last (re)start since the first failure, or from that failure without one.
                answered = time.monotonic()
                op.retry_s = answered - (self.processes.last_up(op.failed_at, answered) or op.failed_at)
            return op


@dataclass
class Member:
    id: int
    session: str  # the signed-in support agent who grants this member's compensations
    csrf: str


def cart(rng: random.Random) -> list[dict]:
    from scene import SKUS, price

    picked = rng.sample(range(len(SKUS)), 3)
    return [{"sku": SKUS[k], "quantity": rng.randint(1, 3), "price": price(k)} for k in picked]


async def order_flow(client: Client, run: str, tag: str, member: Member, rng: random.Random,
                     abandon: bool) -> None:
    external_id = f"{run}-{tag}"
    body = {"order_id": external_id, "member": {"id": member.id}, "lines": cart(rng), "points": rng.choice(POINTS)}
    placed = await client.send(
        Op("place", f"{tag}-place", member.id, external_id=external_id, points=body["points"]),
        client.api("POST", "/api/v1/purchases/", f"{tag}-place", body))
    if not placed.acknowledged:
        return
    order = placed.order = placed.answer["id"]
    if abandon:  # left unpaid: its hold times out
        return

    async def step(kind: str, path: str, body: dict | None = None) -> Op:
        return await client.send(Op(kind, f"{tag}-{kind}", member.id, order=order),
                                 client.api("POST", f"/api/v1/purchases/{order}/{path}", f"{tag}-{kind}", body))

    if rng.random() < 0.1:
        await step("cancel", "cancel")
        return
    if not (await step("pay", "pay")).acknowledged:
        return
    then = rng.random()
    if then < 0.35:
        lines = placed.answer["lines"]
        line = rng.choice(lines)
        await step("return", "returns", {"lines": [{"line": line["line"], "quantity": "1"}]})
    elif then < 0.5:
        await step("ship", "ship")
    elif then < 0.65:
        await step("cancel", "cancel")


async def event_flow(client: Client, tag: str, member: Member) -> None:
    body = {"member": {"id": member.id}, "type": "review"}
    await client.send(Op("event", f"{tag}-event", member.id),
                      client.api("POST", "/api/v1/events/", f"{tag}-event", body))


async def compensation_flow(client: Client, tag: str, member: Member, rng: random.Random) -> None:
    key = uuid.uuid4().hex
    points = rng.randint(10, 300)
    fields = {"step": "confirm", "key": key, "points": str(points), "reason_code": REASON,
              "comment": f"Задержка доставки {tag}"}
    await client.send(Op("compensation", key, member.id, points=points),
                      client.form(f"/office/members/{member.id}/compensate/", fields, member.session, member.csrf))


async def one_client(client: Client, run: str, n: int, members: list[Member], deadline: float,
                     rng: random.Random) -> None:
    i = 0
    while time.monotonic() < deadline:
        member, tag = members[i % len(members)], f"{run}-c{n}-{i}"
        i += 1
        kind = rng.random()
        if kind < 0.6:
            await order_flow(client, run, tag, member, rng, abandon=False)
        elif kind < 0.7:
            await order_flow(client, run, tag, member, rng, abandon=True)
        elif kind < 0.85:
            await event_flow(client, tag, member)
        else:
            await compensation_flow(client, tag, member, rng)
