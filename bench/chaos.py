"""The fault test: the real server and two workers on PostgreSQL, killed with SIGKILL at random moments under
concurrent purchases, returns, events, compensations and expiry; then the proof that nothing was lost or doubled.

The scene: the programme of `scene` (10 live campaigns) plus an event campaign ("review" earns 50 points),
`--clients` × `--members` members, each with an e-mail address and e-mail consent, 4 lots that live a year and 2
promo lots that expire during the run. Outside the bench process: `kopilka serve` (gunicorn, 2 processes × 4
threads) and two `kopilka worker`s (the periodic schedule: holds released and the outbox sent every minute), with a
short hold timeout (`--hold-ttl`) and SMTP timeout (`--smtp-timeout`, so a killed worker's claims on messages run
out after `lease()` = 20 × it + 30 s). In the bench process: an SMTP server on loopback (aiosmtpd) that keeps every
message it is sent, taking 50 ms over each.

Each client works on its own members, flows one after another until `--seconds` have passed: an order placed
spending points (held) and paid, then sometimes part of it returned, shipped or the whole cancelled; an order
placed and cancelled unpaid, or left unpaid for its hold to time out; an event (`POST /api/v1/events/`); a
compensation with a notice granted through the back office (`/office/members/{id}/compensate/`, a signed-in
support agent's form). Every request carries its idempotency key (the API's `Idempotency-Key`, the form's `key`)
and is sent again with the same key, on a new connection, until it gets a definite answer: any answer below 500
other than 409 `idempotency_in_progress` (an answer cut short by the server's death, fewer bytes than its
Content-Length, is no answer). Meanwhile `--kills` times at random moments the server (its whole process
group) or one worker or both get SIGKILL and are started again; when a minute's slot of the schedule falls at least
8 s into the run, the worker that sends the outbox in that slot is killed while the SMTP server holds a message's
data unanswered (the message is received but never recorded as sent); `kopilka expire` runs every 3–8 s, and a
third of its runs are killed after 0.3–2 s.

Then the clients stop, the server and workers are left running until the first runs of `release_expired_holds`
and `deliver_messages` for a slot after the end of the run have finished and the outbox is empty (or
`--settle` seconds have passed), and the proof reads the database:

- acknowledged (2xx, or for the form 302 to the member's card, on any attempt): its effect is there exactly once —
  the order (and its hold) of a placement; the capture and the earnings of a payment; the return under its key and
  its entries; the cancellation; the event and its points; the compensation, its entry and its message. For every
  order, the entries keyed `order:{id}:…` are exactly those its points rows name, each once;
- refused (any other definite answer): no order, event, return or compensation left behind;
- stray: an order, event, compensation or keyed entry that no request of the run asked for;
- holds: no hold is active whose timeout passed at or before the slot of that first `release_expired_holds` run
  after the run (T): a hold ends at most one schedule period (60 s) plus the worker's tick after its timeout;
  `hold_end_late_max_s` is how late the worker ended the holds it ended;
- the outbox: every message that is not skipped has been received by the SMTP server, by its Message-ID; repeats
  are counted (a message sent again after a worker died between the SMTP server's acceptance and the record);
- expiry: no hold reserved points of a lot that had expired when the hold was made (so no expired point was spent);
- the ledger's reconciliation (`kopilka reconcile`) is clean;
- retries: for a request that got no answer (or a 5xx, or 409 in progress) and was sent again, the time from the
  moment the server accepted connections again after that failure to the answer; `longest_retry_s` ≤ 10.

Prints one JSON line:
  operations, acknowledged, refused   requests made (one per operation: placement, payment, return, ...)
  kills, server_kills, worker_kills   SIGKILLs sent to the server's process group / to a worker
  outbox_kills                        of those, workers killed while handing a message to the SMTP server
  expiry_runs, expiry_kills           `kopilka expire` runs during the run, and those killed midway
  lost                                acknowledged operations whose effect is missing
  duplicated                          operations whose effect is there more than once, and stray effects
  refused_with_trace                  refused operations that left something behind
  unanswered                          operations without a definite answer by the end (the clients gave up)
  reconcile_ok                        the ledger reconciles (snapshot = entries = lot remainders)
  longest_retry_s, retried            the longest retry (see above), and how many operations needed one
  messages, messages_delivered, message_repeats, undelivered   the outbox and what the SMTP server received
  holds_open_past_timeout             active holds whose timeout passed at or before T
  hold_end_late_max_s                 the most seconds past its timeout at which the worker ended a hold
  expired_lots, expiring_lots         lots whose points expiry burned; lots made to expire during the run
  held_after_expiry                   hold lines on lots expired when their hold was made (must be 0)
  tasks_left_running                  task results a killed worker left RUNNING (django-tasks does not retry them)
  seconds, ok                         the whole run's length; whether every check passed (else exit code 1)
  failures                            the checks that failed, with examples (also: `malformed_answer`, a 2xx of the
                                      API without its JSON body; `slow_retry`; `spent_after_expiry`)

Usage: .venv/bin/python bench/chaos.py [--short]
           [--database-url postgres://postgres@127.0.0.1:5432/kopilka_chaos_bench]
           [--clients 6] [--members 4] [--seconds 90] [--kills 6] [--hold-ttl 20] [--smtp-timeout 2]
           [--settle 240] [--seed N]
--short: 4 clients × 3 members, 40 s, 3 kills, hold timeout 5 s, SMTP timeout 1 s, settling at most 150 s
(1.5–2 minutes in all: the settling waits for the next minute's slot of the schedule).
The database named is dropped and created anew.
"""

import argparse
import asyncio
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from common import log, recreate_database, setup_django

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
REQUEST_TIMEOUT_S = 20  # one attempt; a killed server drops its connections at once, so this is for a hung one
GIVE_UP_S = 120  # a request still without a definite answer after this long is counted unanswered
BACKOFF_S = 0.1  # between two attempts of a request
RETRY_GOAL_S = 10
SMTP_DELAY_S = 0.05  # the SMTP server's time to accept a message
SLOT_S = 60  # the period of the schedule's minute jobs (`runtime.schedule.MINUTE`)
POINTS = (0, 50, 100, 200)
EVENT_POINTS = 50
REASON = "compensation-complaint"


# --- the processes -----------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def accepting(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


class Processes:
    """The server and the two workers: started, killed (SIGKILL to the whole process group) and started again;
    `up_moments` are the monotonic moments at which the server accepted connections after each start."""

    def __init__(self, env: dict[str, str], port: int, logs: Path):
        self.env, self.port, self.logs = env, port, logs
        self.server: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen | None] = [None, None]
        self.worker_ids: list[str] = ["", ""]
        self.starts = 0
        self.up_moments: list[float] = []
        self.lock = threading.Lock()

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        self.starts += 1
        out = open(self.logs / f"{name}-{self.starts}.log", "wb")  # noqa: SIM115 - the child keeps it
        return subprocess.Popen([sys.executable, "-m", "kopilka.cli", *args], env=self.env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)

    def start_server(self) -> None:
        self.server = self._spawn("server", ["serve", "--bind", f"{HOST}:{self.port}", "--workers", "2",
                                             "--threads", "4"])
        deadline = time.monotonic() + 60
        while not accepting(self.port):
            if self.server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the web server did not start (see {self.logs})")
            time.sleep(0.05)
        with self.lock:
            self.up_moments.append(time.monotonic())

    def start_worker(self, n: int) -> None:
        self.worker_ids[n] = f"chaos-{n}-{self.starts + 1}"
        self.workers[n] = self._spawn(f"worker{n}", [
            "worker", "--tick", "1", "--interval", "0.5", "--no-startup-delay", "--worker-id", self.worker_ids[n]])

    @staticmethod
    def _kill(process: subprocess.Popen | None) -> None:
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def kill_server(self) -> None:
        self._kill(self.server)

    def kill_worker(self, n: int) -> None:
        self._kill(self.workers[n])

    def up_after(self, moment: float) -> float | None:
        """The first moment at or after `moment` at which a started server accepted connections."""
        with self.lock:
            return next((up for up in self.up_moments if up >= moment), None)

    def ensure_running(self) -> None:
        if self.server is None or self.server.poll() is not None:
            self.start_server()
        for n, worker in enumerate(self.workers):
            if worker is None or worker.poll() is not None:
                self.start_worker(n)

    def stop(self) -> None:
        for process in [self.server, *self.workers]:
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in [self.server, *self.workers]:
            if process is not None:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


@dataclass
class Chaos:
    """What the killer and the expiry runner did."""

    kills: int = 0
    server_kills: int = 0
    worker_kills: int = 0
    expiry_runs: int = 0
    expiry_kills: int = 0
    outbox_kills: int = 0


def killer(processes: Processes, chaos: Chaos, kills: int, seconds: float, rng: random.Random,
           stop: threading.Event) -> None:
    """`kills` times at random moments of the run: the server, a worker or both get SIGKILL, and are started again
    after a pause of up to a second. The first kill is the server's, the second a worker's."""
    started = time.monotonic()
    moments = sorted(rng.uniform(0.1, 0.85) * seconds for _ in range(kills))
    for n, moment in enumerate(moments):
        if stop.wait(max(0.0, started + moment - time.monotonic())):
            return
        target = "server" if n == 0 else "worker" if n == 1 else rng.choice(["server", "worker", "both"])
        worker = rng.randrange(2)
        if target in ("server", "both"):
            processes.kill_server()
            chaos.kills += 1
            chaos.server_kills += 1
        if target in ("worker", "both"):
            processes.kill_worker(worker)
            chaos.kills += 1
            chaos.worker_kills += 1
        what = {"server": "server", "worker": f"worker {worker}", "both": f"server and worker {worker}"}[target]
        log(f"  {time.monotonic() - started:5.1f}s: SIGKILL to the {what}")
        time.sleep(rng.uniform(0, 1))
        if target in ("worker", "both"):
            processes.start_worker(worker)
        if target in ("server", "both"):
            processes.start_server()
            log(f"  {time.monotonic() - started:5.1f}s: the server accepts connections again")


def outbox_killer(processes: Processes, chaos: Chaos, inbox: "Inbox", at: float, stop: threading.Event) -> None:
    """At the wall-clock moment `at` (a minute's slot of the schedule), waits for the worker that runs
    `deliver_messages` to be in the middle of handing a message over (the SMTP server has its data and has not yet
    answered), and kills it then: the SMTP server keeps that message, which the worker never recorded as sent, and
    the rest of the worker's claimed chunk waits for its lease to run out. Both go out again after the lease."""
    from django.db import connection
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    if stop.wait(max(0.0, at - time.time())):
        return
    try:
        while not stop.wait(0.01) and time.time() < at + 20:
            if not inbox.accepting:
                continue
            running = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING,
                                                  task_path__endswith=".deliver_messages")
            ids = {worker_id for result in running for worker_id in result.worker_ids[-1:]}
            for n, worker_id in enumerate(processes.worker_ids):
                if worker_id in ids:
                    processes.kill_worker(n)
                    chaos.kills += 1
                    chaos.worker_kills += 1
                    chaos.outbox_kills += 1
                    log(f"  {time.strftime('%H:%M:%S', time.gmtime())}: SIGKILL to worker {n} while it hands a "
                        f"message to the SMTP server ({inbox.count()} received so far)")
                    processes.start_worker(n)
                    return
    finally:
        connection.close()


def expirer(env: dict[str, str], chaos: Chaos, rng: random.Random, stop: threading.Event) -> None:
    """`kopilka expire` every 3–8 s; a third of the runs get SIGKILL after 0.3–2 s."""
    while not stop.wait(rng.uniform(3, 8)):
        run = subprocess.Popen([sys.executable, "-m", "kopilka.cli", "expire"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        chaos.expiry_runs += 1
        if rng.random() < 1 / 3:
            try:
                run.wait(timeout=rng.uniform(0.3, 2))
            except subprocess.TimeoutExpired:
                os.killpg(run.pid, signal.SIGKILL)
                chaos.expiry_kills += 1
        run.wait()


# --- the clients -------------------------------------------------------------------------------------------------


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
    failed_at: float | None = None  # the last attempt without a definite answer
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
                op.failed_at = time.monotonic()
                if op.failed_at - began > GIVE_UP_S:
                    return op
                await asyncio.sleep(BACKOFF_S)
                continue
            op.status, op.answer, op.location = status, answer, headers.get("location", "")
            if op.failed_at is not None:
                answered = time.monotonic()
                up = self.processes.up_after(op.failed_at)
                op.retry_s = answered - (up if up is not None and up <= answered else op.failed_at)
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


# --- the scene ---------------------------------------------------------------------------------------------------


def build_scene(clients: int, per_client: int) -> tuple[list[list[Member]], str]:
    """The programme, the event campaign, the members with their lots, a support agent signed in per client (a
    session in the database, a CSRF secret of its own) and an API key; returns the clients' members and the key."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.auth.models import Group
    from django.contrib.sessions.backends.db import SessionStore
    from scene import build_programme, issue_token

    from kopilka.backoffice.models import CompensationLimit
    from kopilka.backoffice.roles import SUPPORT
    from kopilka.campaigns import services as campaigns
    from kopilka.core import clock
    from kopilka.customers import services as customers
    from kopilka.customers.models import Consent
    from kopilka.ledger import services as ledger

    start = build_programme(10**12)
    campaigns.create_campaign(code="review", name="Review", type="promo", starts_at=start, actor="bench",
                              rules={"accrual": {"reward": "fixed", "points": EVENT_POINTS, "scenario": "event",
                                                 "event_types": ["review"]}})
    campaigns.change_status(code="review", action="activate", actor="bench")
    support = Group.objects.get(name=SUPPORT)
    CompensationLimit.objects.update_or_create(role=support, defaults={"per_operation": 1000, "per_day": 10**8})
    groups: list[list[Member]] = []
    for c in range(clients):
        agent = get_user_model().objects.create_user(f"chaos-agent-{c}", password=secrets.token_urlsafe(16),
                                                     is_staff=True)
        agent.groups.add(support)
        session = SessionStore()
        session[SESSION_KEY] = str(agent.pk)
        session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        session[HASH_SESSION_KEY] = agent.get_session_auth_hash()
        session.create()
        csrf = secrets.token_hex(16)  # 32 characters: a CSRF secret as Django keeps it in the cookie
        group = []
        for m in range(per_client):
            person = customers.create_member(last_name=f"Хаос {c}-{m}", email=f"m{c}-{m}@chaos.example",
                                             tags=["doctor"], region_code="54", registered_at=start)
            Consent.objects.create(member=person, channel=Consent.Channel.EMAIL, granted=True,
                                   decided_at=clock.now())
            for n in range(4):
                ledger.accrue(member_id=person.pk, points=3000 + 37 * n, actor="bench",
                              idempotency_key=f"scene:{person.pk}:lot:{n}", category="base",
                              source=ledger.Source("campaign", f"c{2 * n}:v1"), at=start + timedelta(days=n))
            group.append(Member(person.pk, session.session_key, csrf))
        groups.append(group)
    return groups, issue_token(["purchases:read", "purchases:write", "events:write", "ledger:read"])


def add_expiring_lots(groups: list[list[Member]], seconds: float, rng: random.Random) -> int:
    """Two promo lots per member that expire at random moments of the run (promo lots are spent first)."""
    from kopilka.core import clock
    from kopilka.ledger import services as ledger

    now, lots = clock.now(), 0
    for group in groups:
        for member in group:
            for n in range(2):
                ledger.accrue(member_id=member.id, points=200 + 11 * n, actor="bench",
                              idempotency_key=f"scene:{member.id}:expiring:{n}", category="promo",
                              source=ledger.Source("campaign", f"c{2 * n + 1}:v1"),
                              expires_at=now + timedelta(seconds=rng.uniform(0.1, 0.9) * seconds))
                lots += 1
    return lots


# --- the SMTP server ---------------------------------------------------------------------------------------------


class Inbox:
    """An SMTP handler that keeps the Message-ID of every message it accepts, taking `delay` seconds over each
    (a sending worker is then killed in the middle of its chunk, not after it)."""

    def __init__(self, delay: float):
        self.ids: list[str] = []
        self.delay = delay
        self.accepting = 0  # messages whose data the server has and has not yet answered
        self.lock = threading.Lock()

    def count(self) -> int:
        with self.lock:
            return len(self.ids)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.accepting += 1
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.accepting -= 1
        message_id = message_from_bytes(envelope.content)["Message-ID"] or ""
        with self.lock:
            self.ids.append(message_id.strip())
        return "250 OK"


# --- settling and the proof --------------------------------------------------------------------------------------


def settle(end, limit_s: float) -> tuple[Any, bool]:
    """Waits until the first runs of `release_expired_holds` and `deliver_messages` for a slot at or after `end`
    have finished and no message is queued; returns that release run's slot (None if none finished in time) and
    whether the outbox emptied."""
    from django.db import close_old_connections
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from kopilka.communications.models import Message
    from kopilka.core.models import PeriodicRun

    deadline = time.monotonic() + limit_s
    slot = None
    while time.monotonic() < deadline:
        close_old_connections()
        finished = {}
        for job in ("release_expired_holds", "deliver_messages"):
            for run in PeriodicRun.objects.filter(job=job, slot__gte=end).order_by("slot"):
                status = DBTaskResult.objects.filter(pk=run.task_result_id).values_list("status", flat=True).first()
                if status == TaskResultStatus.SUCCESSFUL:
                    finished[job] = run.slot
                    break
        queued = Message.objects.filter(status=Message.Status.QUEUED).exists()
        if len(finished) == 2 and not queued:
            return finished["release_expired_holds"], True
        slot = finished.get("release_expired_holds")
        time.sleep(1)
    from kopilka.communications.models import Message as Outbox

    return slot, not Outbox.objects.filter(status=Outbox.Status.QUEUED).exists()


class Proof:
    """The checks' findings: counts and a few examples of each failure."""

    def __init__(self):
        self.counts: dict[str, int] = {}
        self.examples: dict[str, list[str]] = {}

    def fail(self, check: str, example: str) -> None:
        self.counts[check] = self.counts.get(check, 0) + 1
        if len(self.examples.setdefault(check, [])) < 5:
            self.examples[check].append(example)

    def count(self, check: str) -> int:
        return self.counts.get(check, 0)


# The entries an operation on an order books, by their keys' prefixes after "order:{id}:" (`purchases.flow`).
OWN_ENTRIES = {"pay": ("capture", "payment:"), "ship": ("shipment:",), "cancel": ("cancel:",)}


def prove_ledger(ops: list[Op], proof: Proof) -> None:
    """Every acknowledged operation's effect is there exactly once; refused ones left nothing; nothing stray."""
    from django.db.models import Count

    from kopilka.backoffice.models import CompensationRequest
    from kopilka.campaigns.models import MemberEvent
    from kopilka.communications.models import Message
    from kopilka.ledger.models import Entry, Hold
    from kopilka.orders.models import Order, OrderPoints, OrderReturn

    orders = {o.external_id: o for o in Order.objects.filter(source="pos")}
    by_pk = {o.pk: o for o in orders.values()}
    points_rows: dict[int, list[OrderPoints]] = {}
    for row in OrderPoints.objects.select_related("entry").order_by("id"):
        points_rows.setdefault(row.order_id, []).append(row)
    # Keyed entries by what booked them: ("order", id) / ("event", id) → {the rest of the key: entry}.
    keyed: dict[str, Entry] = {e.idempotency_key: e for e in Entry.objects.exclude(idempotency_key=None)}
    booked_by: dict[tuple[str, int], dict[str, Entry]] = {}
    for key, entry in keyed.items():
        kind, _, rest = key.partition(":")
        number, _, tail = rest.partition(":")
        if kind in ("order", "event") and number.isdigit():
            booked_by.setdefault((kind, int(number)), {})[tail] = entry
        elif kind not in ("compensation", "scene"):
            proof.fail("duplicated", f"entry keyed {key}: no request of the run books under such a key")
    holds = set(Hold.objects.exclude(idempotency_key=None).values_list("idempotency_key", flat=True))
    returns = {(r.order_id, r.key): r for r in OrderReturn.objects.all()}
    events = {(e.member_id, e.key): e for e in MemberEvent.objects.all()}
    requests = {r.key: r for r in CompensationRequest.objects.all()}
    messages = set(Message.objects.values_list("source", flat=True))

    def booked(kind: str, number: int, *prefixes: str) -> dict[int, str]:
        """{entry id: key tail} of the entries booked for the order or event `number` under `prefixes`."""
        return {entry.pk: tail for tail, entry in booked_by.get((kind, number), {}).items()
                if tail.startswith(prefixes)}

    # Every order: the entries keyed by it are exactly those its points rows name, each named once.
    for order in orders.values():
        named = [row.entry_id for row in points_rows.get(order.pk, [])]
        strays = set(booked("order", order.pk, "")) - set(named)
        if len(named) != len(set(named)):
            proof.fail("duplicated", f"order {order.pk}: an entry named by two points rows")
        if strays:
            proof.fail("duplicated", f"order {order.pk}: entries {sorted(strays)} no points row names")
        spent = [row for row in points_rows.get(order.pk, []) if row.kind == OrderPoints.Kind.SPEND]
        if len(spent) > 1:
            proof.fail("duplicated", f"order {order.pk}: captured {len(spent)} times")
        if spent and spent[0].entry.amount != -order.points_spent:
            proof.fail("lost", f"order {order.pk}: captured {-spent[0].entry.amount}, spent {order.points_spent}")
    known = {"order": set(by_pk), "event": {event.pk for event in events.values()}}
    for kind, number in booked_by:
        if number not in known[kind]:
            proof.fail("duplicated", f"entries keyed {kind}:{number}: no such {kind}")

    for external_id in orders.keys() - {op.external_id for op in ops if op.kind == "place"}:
        proof.fail("duplicated", f"order {external_id}: placed though no request asked for it")
    for found in events.keys() - {(op.member, op.key) for op in ops if op.kind == "event"}:
        proof.fail("duplicated", f"event {found}: recorded though no request asked for it")
    for key in requests.keys() - {op.key for op in ops if op.kind == "compensation"}:
        proof.fail("duplicated", f"compensation {key}: made though no request asked for it")
    for row in OrderReturn.objects.values("order_id", "key").annotate(n=Count("id")).filter(n__gt=1):
        proof.fail("duplicated", f"return {row['key']} of order {row['order_id']} recorded {row['n']} times")
    for row in MemberEvent.objects.values("member_id", "key").annotate(n=Count("id")).filter(n__gt=1):
        proof.fail("duplicated", f"event {row['key']} recorded {row['n']} times")

    for op in ops:
        if op.status is None:
            proof.fail("unanswered", f"{op.kind} {op.key}: no definite answer after {op.attempts} attempts")
            continue
        ack = op.acknowledged
        if ack and op.kind != "compensation" and not isinstance(op.answer, dict):
            proof.fail("malformed_answer", f"{op.kind} {op.key}: {op.status} without a JSON answer")
            continue
        if op.kind == "place":
            order = orders.get(op.external_id)
            if ack and (order is None or order.pk != op.answer["id"]):
                proof.fail("lost", f"placement {op.external_id}: acknowledged, no such order")
            elif ack and op.answer["points_spent"] and f"order:{order.pk}:hold" not in holds:
                proof.fail("lost", f"placement {op.external_id}: acknowledged, no hold")
            elif not ack and order is not None:
                proof.fail("refused_with_trace", f"placement {op.external_id}: refused {op.status}, order there")
        elif op.kind in ("pay", "ship", "cancel", "return"):
            prove_order_step(op, by_pk.get(op.order), booked, returns, proof)
        elif op.kind == "event":
            event = events.get((op.member, op.key))
            if ack and event is None:
                proof.fail("lost", f"event {op.key}: acknowledged, not recorded")
            elif ack:
                total = sum(entry.amount for entry in booked_by.get(("event", event.pk), {}).values())
                if total != event.points or event.points != op.answer["points"]:
                    proof.fail("lost" if total < event.points else "duplicated",
                               f"event {op.key}: {total} points booked, {event.points} recorded, "
                               f"{op.answer['points']} answered")
            elif event is not None:
                proof.fail("refused_with_trace", f"event {op.key}: refused {op.status}, recorded")
        elif op.kind == "compensation":
            made = requests.get(op.key)
            if ack and (made is None or made.status != CompensationRequest.Status.GRANTED):
                proof.fail("lost", f"compensation {op.key}: acknowledged, {made and made.status}")
            elif ack:
                entry = keyed.get(f"compensation:{made.pk}")
                if entry is None or entry.amount != op.points or made.points != op.points:
                    proof.fail("lost", f"compensation {op.key}: no entry of {op.points} points")
                if f"compensation:{made.pk}" not in messages:
                    proof.fail("lost", f"compensation {op.key}: no notice")
            elif made is not None:
                proof.fail("refused_with_trace", f"compensation {op.key}: refused {op.status}, made")


def prove_order_step(op: Op, order, booked, returns: dict, proof: Proof) -> None:
    """A payment, shipment, cancellation or return of an order: acknowledged, the order shows it and the entries
    it booked are exactly those of its answer; refused, it booked nothing."""
    from kopilka.orders.models import Order

    if order is None:
        proof.fail("lost", f"{op.kind} of order {op.order}: the order is gone")
        return
    prefixes = OWN_ENTRIES.get(op.kind, (f"return:{op.key}:",))
    own = booked("order", order.pk, *prefixes)
    if not op.acknowledged:
        recorded = op.kind == "return" and (order.pk, op.key) in returns
        if own or recorded or (op.kind == "cancel" and order.status == Order.Status.CANCELLED):
            proof.fail("refused_with_trace", f"{op.kind} of order {order.pk}: refused {op.status}, done")
        return
    S = Order.Status
    done = {"pay": order.status != S.NEW, "ship": order.status not in (S.NEW, S.PAID),
            "cancel": order.status == S.CANCELLED, "return": (order.pk, op.key) in returns}[op.kind]
    if not done:
        proof.fail("lost", f"{op.kind} of order {order.pk}: acknowledged, the order is {order.status}")
    # The answer lists the order's points rows after the step: those of this step are the entries it booked.
    answered = {p["entry_id"] for p in op.answer["points"]}
    missing = answered - set(booked("order", order.pk, ""))
    if missing:
        proof.fail("lost", f"{op.kind} of order {order.pk}: entries {sorted(missing)} of its answer are missing")
    if set(own) - answered:
        proof.fail("duplicated", f"{op.kind} of order {order.pk}: entries {sorted(set(own) - answered)} booked "
                                 "beyond its answer")


def prove_holds(slot, proof: Proof) -> dict:
    """No hold is active whose timeout passed at or before `slot` (the first release run after the clients
    stopped); how late the worker ended the holds it ended."""
    from django.db.models import ExpressionWrapper, F, Max
    from django.db.models.fields import DurationField

    from kopilka.ledger.models import Hold

    if slot is None:
        proof.fail("holds", "no run of release_expired_holds finished after the clients stopped")
        open_past = None
    else:
        open_past = Hold.objects.filter(status=Hold.Status.ACTIVE, expires_at__lte=slot).count()
        for hold in Hold.objects.filter(status=Hold.Status.ACTIVE, expires_at__lte=slot)[:5]:
            proof.fail("holds", f"hold {hold.pk} ({hold.source_kind}:{hold.source_ref}) timed out at "
                                f"{hold.expires_at.isoformat()}, still active after the run of {slot.isoformat()}")
    late = Hold.objects.filter(status=Hold.Status.EXPIRED, closed_by="system:holds").aggregate(
        late=Max(ExpressionWrapper(F("closed_at") - F("expires_at"), output_field=DurationField())))["late"]
    return {"holds_open_past_timeout": open_past,
            "hold_end_late_max_s": round(late.total_seconds(), 1) if late is not None else None,
            "holds_ended_by_worker": Hold.objects.filter(status=Hold.Status.EXPIRED,
                                                         closed_by="system:holds").count()}


def prove_expiry(proof: Proof) -> dict:
    """No hold reserved points of a lot that had expired when the hold was made (a capture spends what its hold
    reserved, so expired points were never spent); how many lots expiry burned."""
    from django.db.models import F

    from kopilka.ledger.models import Entry, HoldLine

    for line in HoldLine.objects.filter(lot__expires_at__lte=F("hold__created_at")).select_related("hold", "lot")[:5]:
        proof.fail("spent_after_expiry", f"hold {line.hold_id} made {line.hold.created_at.isoformat()} reserves "
                                         f"{line.amount} points of lot {line.lot_id}, expired "
                                         f"{line.lot.expires_at.isoformat()}")
    return {"expired_lots": Entry.objects.filter(kind=Entry.Kind.EXPIRY).values("lot_id").distinct().count(),
            "held_after_expiry": HoldLine.objects.filter(lot__expires_at__lte=F("hold__created_at")).count()}


def prove_outbox(inbox: Inbox, emptied: bool, proof: Proof) -> dict:
    from kopilka.communications.models import Message
    from kopilka.communications.services import message_id

    with inbox.lock:
        received = list(inbox.ids)
    outbox = list(Message.objects.exclude(status=Message.Status.SKIPPED))
    undelivered = [m for m in outbox if message_id(m) not in set(received)]
    for message in undelivered:
        proof.fail("undelivered", f"message {message.pk} ({message.source}) {message.status}: not received")
    if not emptied:
        proof.fail("undelivered", "messages still queued when the settling ended")
    return {"messages": len(outbox), "messages_delivered": len(set(received)),
            "message_repeats": len(received) - len(set(received)), "undelivered": len(undelivered),
            "messages_skipped": Message.objects.filter(status=Message.Status.SKIPPED).count()}


# --- the run -----------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kopilka_chaos_bench"))
    parser.add_argument("--short", action="store_true", help="the short version (CI): about 1–2 minutes")
    parser.add_argument("--clients", type=int)
    parser.add_argument("--members", type=int, help="members per client")
    parser.add_argument("--seconds", type=float, help="how long the clients work")
    parser.add_argument("--kills", type=int)
    parser.add_argument("--hold-ttl", type=int, help="seconds a hold lives (KOPILKA_HOLD_TTL_SECONDS)")
    parser.add_argument("--smtp-timeout", type=int, help="KOPILKA_SMTP_TIMEOUT")
    parser.add_argument("--settle", type=float, default=None, help="the most seconds to wait after the run")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    short = dict(clients=4, members=3, seconds=40, kills=3, hold_ttl=5, smtp_timeout=1, settle=150)
    full = dict(clients=6, members=4, seconds=90, kills=6, hold_ttl=20, smtp_timeout=2, settle=240)
    for name, value in (short if args.short else full).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    rng = random.Random(seed)
    began = time.monotonic()

    from aiosmtpd.controller import Controller

    inbox = Inbox(SMTP_DELAY_S)
    smtp = Controller(inbox, hostname=HOST, port=free_port())
    smtp.start()
    os.environ.update({
        "KOPILKA_HOLD_TTL_SECONDS": str(args.hold_ttl), "KOPILKA_SMTP_HOST": HOST,
        "KOPILKA_SMTP_PORT": str(smtp.port), "KOPILKA_SMTP_TIMEOUT": str(args.smtp_timeout),
        "KOPILKA_LOG_LEVEL": "WARNING",
    })
    recreate_database(args.database_url)
    setup_django(args.database_url)  # the children get the same settings and secret key through os.environ
    from django.db import connections

    from kopilka.communications.services import lease
    from kopilka.core import clock
    from kopilka.core.models import IdempotencyRecord  # noqa: F401 - the models load before the children start
    from kopilka.ledger.reconcile import reconcile

    log(f"chaos (seed {seed}): {args.clients} clients × {args.members} members, {args.seconds:g}s, "
        f"{args.kills} kills, holds live {args.hold_ttl}s, a dead worker's messages wait {lease()} ...")
    groups, token = build_scene(args.clients, args.members)
    connections.close_all()
    logs = Path(tempfile.mkdtemp(prefix="kopilka-chaos-"))
    processes = Processes({**os.environ}, free_port(), logs)
    processes.start_server()
    processes.start_worker(0)
    processes.start_worker(1)
    expiring = add_expiring_lots(groups, args.seconds, rng)
    connections.close_all()
    phases = {"setup_s": time.monotonic() - began}

    chaos, stop = Chaos(), threading.Event()
    client = Client(processes.port, token, processes)
    run = uuid.uuid4().hex[:6]
    client_rngs = [random.Random(rng.random()) for _ in groups]
    threads = [threading.Thread(target=killer, args=(processes, chaos, args.kills, args.seconds, rng, stop)),
               threading.Thread(target=expirer, args=({**os.environ}, chaos, random.Random(rng.random()), stop))]
    # The last minute's slot at least 8 s into the run (messages have queued by then) and 3 s before its end.
    slot = (time.time() + args.seconds - 3) // SLOT_S * SLOT_S
    if slot >= time.time() + 8:
        threads.append(threading.Thread(target=outbox_killer, args=(processes, chaos, inbox, slot, stop)))
    log(f"the run: {args.seconds:g}s of clients, kills and expiry (logs in {logs}) ...")
    for thread in threads:
        thread.start()

    async def clients() -> None:
        deadline = time.monotonic() + args.seconds
        await asyncio.gather(*(one_client(client, run, n, group, deadline, client_rngs[n])
                               for n, group in enumerate(groups)))

    try:
        ran = time.monotonic()
        asyncio.run(clients())
        stop.set()
        for thread in threads:
            thread.join()
        processes.ensure_running()
        end = clock.now()
        phases["run_s"] = time.monotonic() - ran
        log(f"settling: the first runs of the schedule after {end:%H:%M:%S} UTC and an empty outbox "
            f"(at most {args.settle:g}s) ...")
        settling = time.monotonic()
        slot, emptied = settle(end, args.settle)
        phases["settle_s"] = time.monotonic() - settling
    finally:
        stop.set()
        stopping = time.monotonic()
        processes.stop()
        smtp.stop()
        log(f"  the server and the workers stopped in {time.monotonic() - stopping:.1f}s")
    proving = time.monotonic()

    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    connections.close_all()
    proof = Proof()
    prove_ledger(client.ops, proof)
    holds = prove_holds(slot, proof)
    outbox = prove_outbox(inbox, emptied, proof)
    expiry = prove_expiry(proof)
    reconciled = reconcile().clean
    if not reconciled:
        proof.fail("reconcile", "kopilka reconcile found discrepancies")
    retries = [op.retry_s for op in client.ops if op.retry_s is not None]
    longest = round(max(retries), 2) if retries else 0.0
    if longest > RETRY_GOAL_S:
        proof.fail("slow_retry", f"a retry took {longest}s after the restart")
    figures = {
        "operations": len(client.ops),
        "acknowledged": sum(op.acknowledged for op in client.ops),
        "refused": sum(op.status is not None and not op.acknowledged for op in client.ops),
        "by_kind": {kind: sum(op.kind == kind for op in client.ops)
                    for kind in ("place", "pay", "return", "ship", "cancel", "event", "compensation")},
        "kills": chaos.kills, "server_kills": chaos.server_kills, "worker_kills": chaos.worker_kills,
        "outbox_kills": chaos.outbox_kills, "expiry_runs": chaos.expiry_runs, "expiry_kills": chaos.expiry_kills,
        "lost": proof.count("lost"), "duplicated": proof.count("duplicated"),
        "refused_with_trace": proof.count("refused_with_trace"), "unanswered": proof.count("unanswered"),
        "reconcile_ok": reconciled,
        "longest_retry_s": longest, "retried": len(retries),
        **outbox, **holds,
        **expiry, "expiring_lots": expiring,
        "tasks_left_running": DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING).count(),
        "refusals": sorted({f"{op.kind} {op.status} {(op.answer or {}).get('code', '')}".strip()
                            for op in client.ops if op.status is not None and not op.acknowledged}),
        **{name: round(value, 1) for name, value in phases.items()},
        "proof_s": round(time.monotonic() - proving, 1), "seconds": round(time.monotonic() - began, 1), "seed": seed,
    }
    figures["ok"] = not proof.counts
    figures["failures"] = proof.examples
    print(json.dumps(figures, ensure_ascii=False), flush=True)
    sys.exit(0 if figures["ok"] else 1)


if __name__ == "__main__":
    main()
