"""Operations a support agent performs on a member's points: spend, burn a lot, reverse an accrual.

Each is filled in, reviewed and confirmed; it runs through the ledger services under the form's one-time key (a
second send books nothing more) and is written to the audit log with its comment.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kopilka.backoffice.forms import BurnForm, ReverseForm, SpendForm
from kopilka.core import audit
from kopilka.core.models import AuditEvent
from kopilka.ledger import selectors
from kopilka.ledger import services as ledger
from kopilka.ledger.models import Entry


@dataclass(frozen=True)
class Operation:
    code: str
    title: str
    permission: str
    form: type
    choices: Callable[[int], list[tuple[int, str]]]  # member id → what the form offers to pick
    run: Callable  # (actor, member id, key, cleaned data) → Entry
    summary: Callable[[dict], str]


def _lots(member_id: int) -> list[tuple[int, str]]:
    return [
        (lot.id, _("lot %(id)d · %(category)s · %(free)d free · until %(until)s") % {
            "id": lot.id, "category": lot.category, "free": lot.free, "until": lot.last_day or "—"})
        for lot in selectors.balance(member_id).lots if lot.free > 0 and lot.state != "debt"
    ]


def _accruals(member_id: int) -> list[tuple[int, str]]:
    entries = Entry.objects.filter(
        account__member_id=member_id, kind__in=[Entry.Kind.ACCRUAL, Entry.Kind.ADJUSTMENT], amount__gt=0,
    ).order_by("-id")[:100]
    return [(e.pk, _("entry %(id)d · %(points)d points · %(when)s · %(source)s") % {
        "id": e.pk, "points": e.amount, "when": e.effective_at.date(), "source": f"{e.source_kind} {e.source_ref}"})
        for e in entries]


OPERATIONS = {
    "spend": Operation(
        "spend", gettext_lazy("Spend points"), "backoffice.spend_points", SpendForm, lambda member_id: [],
        lambda actor, member_id, key, data: ledger.spend(
            member_id=member_id, points=data["points"], actor=actor, idempotency_key=key,
            reason_code=data["reason_code"], comment=data["comment"], source=ledger.Source("manual")),
        lambda data: _("Spent %(points)d points") % {"points": data["points"]},
    ),
    "burn": Operation(
        "burn", gettext_lazy("Burn a lot"), "backoffice.burn_lot", BurnForm, _lots,
        lambda actor, member_id, key, data: ledger.burn_lot(
            lot_id=data["target"], reason_code=data["reason_code"], comment=data["comment"], actor=actor,
            idempotency_key=key),
        lambda data: _("Burned lot %(lot)d") % {"lot": data["target"]},
    ),
    "reverse": Operation(
        "reverse", gettext_lazy("Reverse an accrual"), "backoffice.reverse_entry", ReverseForm, _accruals,
        lambda actor, member_id, key, data: ledger.reverse_accrual(
            entry_id=data["target"], points=data["points"], reason_code=data["reason_code"],
            comment=data["comment"], actor=actor, idempotency_key=key),
        lambda data: _("Reversed accrual %(entry)d") % {"entry": data["target"]},
    ),
}


def perform(operation: Operation, user, member_id: int, data: dict) -> Entry:
    """Book the operation and its audit event together."""
    key = f"office:{operation.code}:{data['key']}"
    with transaction.atomic():
        entry = operation.run(audit.actor_of(user), member_id, key, data)
        if not AuditEvent.objects.filter(target=f"ledger.entry:{entry.pk}").exists():
            audit.record(user, f"ledger.{operation.code}", operation.summary(data), member_id=member_id,
                         target=f"ledger.entry:{entry.pk}", comment=data["comment"],
                         details={"reason_code": data["reason_code"], "points": entry.amount})
    return entry
