"""The fault test: the real server and two workers on PostgreSQL, killed with SIGKILL at random moments under
concurrent purchases, returns, events, compensations and expiry; then the proof that nothing was lost or doubled.

The scene: the programme of `scene` (10 live campaigns) plus an event campaign ("review" earns 50 points),
`--clients` × `--members` members, each with an e-mail address and e-mail consent, 4 lots that live a year and 2
promo lots that expire during the run, and a bystander member whom no client touches, with a promo lot that expires
during the run (so expiry always has something to burn) and the outbox killer's notices. Outside the bench process:
`kopilka serve` (gunicorn, 2 processes × 4 threads) and two `kopilka worker`s (the periodic schedule: holds released
and the outbox sent every minute), with a short hold timeout (`--hold-ttl`) and SMTP timeout (`--smtp-timeout`, so
a send is cut off after `send_limit()` = 10 × it and a killed worker's claims on messages run out after `lease()` =
10 × it + 30 s). In the bench process: an SMTP server on loopback (aiosmtpd) that keeps every message it is sent,
taking 50 ms over each.

Each client works on its own members, flows one after another until `--seconds` have passed: an order placed
spending points (held) and paid, then sometimes part of it returned, shipped or the whole cancelled; an order
placed and cancelled unpaid, or left unpaid for its hold to time out; an event (`POST /api/v1/events/`); a
compensation with a notice granted through the back office (`/office/members/{id}/compensate/`, a signed-in
support agent's form). Every request carries its idempotency key (the API's `Idempotency-Key`, the form's `key`)
and is sent again with the same key, on a new connection, until it gets a definite answer: any answer below 500
other than 409 `idempotency_in_progress` (an answer cut short by the server's death, fewer bytes than its
Content-Length, is no answer). Meanwhile `--kills` times at random moments the server (its whole process
group) or one worker or both get SIGKILL and are started again; once, 30–70 % into the run, the outbox killer
records a notice for the bystander, has the SMTP server hold the next message's data unanswered, enqueues a
delivery run (`deliver_messages`) and kills the worker that sends it while the server holds the data (the message
is received but never recorded as sent: it comes again after the lease, a repeat); `kopilka expire` runs every
3–8 s, a third of its runs killed after 0.3–2 s, and once more, not killed, after the clients stop.

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
  last moment the server began to accept connections again after its first failure (from that failure when the
  server was not restarted meanwhile) to its answer; `longest_retry_s` ≤ 10 (a goal of speed, not of correctness:
  with `--short`, run by CI on a shared machine, a slower retry is reported, `slow_retry`, and fails nothing).

Prints one JSON line:
  operations, acknowledged, refused   requests made (one per operation: placement, payment, return, ...)
  kills, server_kills, worker_kills   SIGKILLs sent to the server's process group / to a worker
  outbox_kills                        of those, workers killed while handing a message to the SMTP server
  expiry_runs, expiry_kills           `kopilka expire` runs (the last one's after the clients stop), those killed
  lost                                acknowledged operations whose effect is missing
  duplicated                          operations whose effect is there more than once, and stray effects
  refused_with_trace                  refused operations that left something behind
  unanswered                          operations without a definite answer by the end (the clients gave up)
  reconcile_ok                        the ledger reconciles (snapshot = entries = lot remainders)
  longest_retry_s, retried            the longest retry (see above), and how many operations needed one
  slow_retry                          whether the longest retry missed the goal of 10 s (a failure but with --short)
  server_down_s                       the longest time from a server's SIGKILL to its accepting connections again
                                      (a pause of up to 1 s before the restart, collectstatic, loading the application)
  messages, messages_delivered, message_repeats, undelivered   the outbox and what the SMTP server received
  holds_open_past_timeout             active holds whose timeout passed at or before T
  hold_end_late_max_s                 the most seconds past its timeout at which the worker ended a hold
  expired_lots, expiring_lots         lots whose points expiry burned; lots made to expire during the run (the
                                      bystander's included)
  held_after_expiry                   hold lines on lots expired when their hold was made (must be 0)
  tasks_left_running                  task results a killed worker left RUNNING (django-tasks does not retry them)
  seconds, ok                         the whole run's length; whether every check passed (else exit code 1)
  failures                            the checks that failed, with examples (also: `malformed_answer`, a 2xx of the
                                      API without its JSON body; `slow_retry`; `spent_after_expiry`)

Usage: .venv/bin/python bench/chaos.py [--short]
           [--database-url postgres://postgres@127.0.0.1:5432/kopilka_chaos_bench]
           [--clients 6] [--members 4] [--seconds 90] [--kills 6] [--hold-ttl 20] [--smtp-timeout 2]
           [--settle 240] [--seed N]
--short: 4 clients × 3 members, 30 s, 3 kills, hold timeout 5 s, SMTP timeout 1 s, settling at most 150 s
(1–3 minutes in all: the settling waits for the next minute's slot of the schedule, and for the lease of the
messages the outbox killer's victim held).
The database named is dropped and created anew. The processes' output goes to a temporary folder, removed when
every check passed. The parts: `chaos_faults` (the processes, the kills, the SMTP
server), `chaos_clients` (the flows and their retries), `chaos_proof` (the settling and the checks).
"""

import argparse
import asyncio
import itertools
import json
import os
import random
import secrets
import shutil
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

from chaos_clients import Client, Member, one_client
from chaos_faults import HOST, Chaos, Inbox, Processes, expirer, free_port, killer, outbox_killer
from chaos_proof import Proof, prove_expiry, prove_holds, prove_ledger, prove_outbox, settle
from common import log, recreate_database, setup_django

RETRY_GOAL_S = 10
SMTP_DELAY_S = 0.05  # the SMTP server's time to accept a message
EVENT_POINTS = 50


def build_scene(clients: int, per_client: int) -> tuple[list[list[Member]], str, int]:
    """The programme, the event campaign, the members with their lots, a support agent signed in per client (a
    session in the database, a CSRF secret of its own), an API key and the bystander (with e-mail consent, no lots);
    returns the clients' members, the key and the bystander's id."""
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
            person = customers.create_member(actor="bench", last_name=f"Хаос {c}-{m}", email=f"m{c}-{m}@chaos.example",
                                             tags=["doctor"], region_code="54", registered_at=start)
            Consent.objects.create(member=person, channel=Consent.Channel.EMAIL, granted=True,
                                   decided_at=clock.now())
            for n in range(4):
                ledger.accrue(member_id=person.pk, points=3000 + 37 * n, actor="bench",
                              idempotency_key=f"scene:{person.pk}:lot:{n}", category="base",
                              source=ledger.Source("campaign", f"c{2 * n}:v1"), at=start + timedelta(days=n))
            group.append(Member(person.pk, session.session_key, csrf))
        groups.append(group)
    bystander = customers.create_member(actor="bench", last_name="Хаос, зритель", email="bystander@chaos.example",
                                        tags=["doctor"], region_code="54", registered_at=start)
    Consent.objects.create(member=bystander, channel=Consent.Channel.EMAIL, granted=True, decided_at=clock.now())
    return groups, issue_token(["purchases:read", "purchases:write", "events:write", "ledger:read"]), bystander.pk


def add_expiring_lots(groups: list[list[Member]], bystander: int, seconds: float, rng: random.Random) -> int:
    """Two promo lots per member that expire at random moments of the run (promo lots are spent first), and one of
    the bystander's, which nothing spends."""
    from kopilka.core import clock
    from kopilka.ledger import services as ledger

    now, lots = clock.now(), 1
    ledger.accrue(member_id=bystander, points=300, actor="bench", idempotency_key=f"scene:{bystander}:expiring",
                  category="promo", source=ledger.Source("campaign", "c1:v1"),
                  expires_at=now + timedelta(seconds=rng.uniform(0.1, 0.9) * seconds))
    for group in groups:
        for member in group:
            for n in range(2):
                ledger.accrue(member_id=member.id, points=200 + 11 * n, actor="bench",
                              idempotency_key=f"scene:{member.id}:expiring:{n}", category="promo",
                              source=ledger.Source("campaign", f"c{2 * n + 1}:v1"),
                              expires_at=now + timedelta(seconds=rng.uniform(0.1, 0.9) * seconds))
                lots += 1
    return lots


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
    short = dict(clients=4, members=3, seconds=30, kills=3, hold_ttl=5, smtp_timeout=1, settle=150)
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
    groups, token, bystander = build_scene(args.clients, args.members)
    connections.close_all()
    logs = Path(tempfile.mkdtemp(prefix="kopilka-chaos-"))
    processes = Processes({**os.environ}, free_port(), logs)
    processes.start_server()
    processes.start_worker(0)
    processes.start_worker(1)
    expiring = add_expiring_lots(groups, bystander, args.seconds, rng)
    connections.close_all()
    phases = {"setup_s": time.monotonic() - began}

    chaos, stop = Chaos(), threading.Event()
    client = Client(processes.port, token, processes)
    run = uuid.uuid4().hex[:6]
    client_rngs = [random.Random(rng.random()) for _ in groups]
    notices = itertools.count()

    def notice() -> None:
        from kopilka.communications.services import notify

        number = next(notices)
        notify(bystander, kind="chaos", source=f"chaos:{run}:{number}", subject=f"Хаос {number}", body="b")

    threads = [threading.Thread(target=killer, args=(processes, chaos, args.kills, args.seconds, rng, stop)),
               threading.Thread(target=expirer, args=({**os.environ}, chaos, random.Random(rng.random()), stop)),
               threading.Thread(target=outbox_killer, args=(
                   processes, chaos, inbox, time.monotonic() + rng.uniform(0.3, 0.7) * args.seconds, notice))]
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
        log(f"a retry took {longest}s after the restart (the goal: {RETRY_GOAL_S}s)")
        if not args.short:
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
        "longest_retry_s": longest, "retried": len(retries), "slow_retry": longest > RETRY_GOAL_S,
        "server_down_s": round(chaos.server_down_s, 1),
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
    if figures["ok"]:
        shutil.rmtree(logs)  # the processes' output is kept only when a check failed
    else:
        log(f"the processes' output: {logs}")
    print(json.dumps(figures, ensure_ascii=False), flush=True)
    sys.exit(0 if figures["ok"] else 1)


if __name__ == "__main__":
    main()
