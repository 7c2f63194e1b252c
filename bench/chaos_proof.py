"""The fault test's proof (`chaos.py`): waiting for the schedule's runs after the clients stopped, then reading the
database for what was lost, doubled, left behind, left open or not delivered."""

import time
from typing import Any

from chaos_clients import Op
from chaos_faults import Inbox


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
    return slot, not Message.objects.filter(status=Message.Status.QUEUED).exists()


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
    from kopilka.communications.email import message_id
    from kopilka.communications.models import Message

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
