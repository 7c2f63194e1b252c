"""Everything the member card shows, read in a fixed number of queries per section."""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kopilka.backoffice.models import CompensationRequest
from kopilka.campaigns.conditions import evaluate
from kopilka.campaigns.facts import member_facts
from kopilka.campaigns.selectors import live_campaigns
from kopilka.communications.models import Message
from kopilka.core import clock
from kopilka.core.models import AuditEvent
from kopilka.customers.selectors import consents_in_force, get_member
from kopilka.ledger import selectors as ledger
from kopilka.ledger.models import LotCategory, ReasonCode
from kopilka.orders.models import Order
from kopilka.tiers.services import progress

LOT_STATES = {"active": pgettext_lazy("lot", "active"), "pending": pgettext_lazy("lot", "pending"),
              "expired": _("expired, burns tonight"), "debt": _("debt")}
ORDERS_SHOWN = 20
ENTRIES_PER_PAGE = 50
EVENTS_SHOWN = 20
VIEWED = "member.viewed"  # the audit log's action for opening a card: kept there, not listed on the card


def _campaigns_now(member_id: int) -> list[dict]:
    """Every live campaign with whether the member qualifies now, and why (in words)."""
    now = clock.now()
    facts = member_facts(member_id, now)
    shown = []
    for campaign in sorted(live_campaigns(now, member_id), key=lambda c: (-c.priority, c.code)):
        verdict = evaluate(campaign.rules.conditions, facts) if campaign.rules.conditions else None
        shown.append({
            "campaign": campaign, "applies": verdict is None or verdict.passed,
            "explanation": verdict.explain() if verdict is not None else "",
        })
    return shown


def _expiry_timeline(upcoming: list) -> list[dict]:
    """Upcoming expirations with a bar width relative to the largest (for the timeline chart)."""
    largest = max((points for _day, points in upcoming), default=0)
    return [{"day": day, "points": points, "width": round(100 * points / largest) if largest else 0}
            for day, points in upcoming]


def member_card(user, member_id: int, before: str | None = None) -> dict:
    person = get_member(member_id)
    balance = ledger.balance(member_id)
    cursor = int(before) if before and before.isdigit() else None
    history = ledger.history(member_id, cursor=cursor, limit=ENTRIES_PER_PAGE)
    orders = (
        Order.objects.filter(member_id=member_id).prefetch_related("lines").order_by("-purchased_at", "-id")
        [:ORDERS_SHOWN]
    )
    return {
        "member": person,
        "reasons": dict(ReasonCode.objects.values_list("code", "name")),
        "categories": dict(LotCategory.objects.values_list("code", "name")),
        "lot_states": LOT_STATES,
        "consents": sorted(consents_in_force([member_id]).get(member_id, {}).values(), key=lambda c: c.channel),
        "balance": balance,
        "timeline": _expiry_timeline(balance.upcoming_expirations),
        "tier": progress(member_id),
        "orders": list(orders),
        "history": history,
        "campaigns": _campaigns_now(member_id),
        "sent_messages": Message.objects.filter(member_id=member_id)[:EVENTS_SHOWN],
        "compensations": CompensationRequest.objects.filter(member_id=member_id).select_related(
            "requested_by", "decided_by")[:EVENTS_SHOWN],
        "events": AuditEvent.objects.filter(member_id=member_id).exclude(action=VIEWED)[:EVENTS_SHOWN]
        if user.has_perm("backoffice.view_audit_log") else None,
    }
