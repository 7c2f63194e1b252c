"""The purchase flow a till, a web shop or 1C drives (SPEC §4.4, §2.7): place → pay → ship → complete, cancel,
and returns of some or all of the lines. Coordinates the cart evaluation, the campaigns and the ledger.

- Placing an order evaluates its cart and holds the points it spends, in exactly the lots of the optimal plan.
- Paying captures the hold and books what the purchase earns under the "on payment" campaigns; shipping books
  the "on shipment" ones. Conditions are judged on the member's history before this order.
- A return takes back, per returned line, its share of what the order earned (under the programme's return
  policy when those points were already spent) and gives back its share of the points spent, into the lots
  they came from; budgets and member limits get back what was taken back (not what the policy forgave).
- Shipping earns on what was not returned by then.
- Paying an order whose hold timed out holds the same points of the same lots again; when they are gone the
  payment is refused (`points_no_longer_held`) and the order can be cancelled and placed again.
- A receipt a till buffered offline is placed as paid: it earns, never spends. A receipt may be dated back up to the
  programme's BACKDATING_DAYS, and earns under the campaigns, versions and statuses in force at its time. A purchase
  without a member is recorded for analytics and touches no points. A blocked member's purchase neither earns nor
  spends.
Every ledger write carries a key derived from the order, so a repeated call books nothing twice. Every step that
touches points runs under the programme's one lock order (`campaigns.locking`): the order's row, the budgets that can
apply, the member, then (in the ledger) the account and its lots.
"""

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from kopilka.campaigns.engine import LiveCampaign, PurchaseLine, decide
from kopilka.campaigns.facts import load_member, member_facts
from kopilka.campaigns.granting import give_back, grant
from kopilka.campaigns.locking import LockPlan, PointsLocks, plan_for, with_planned_points_locks, with_points_locks
from kopilka.campaigns.models import Campaign
from kopilka.campaigns.selectors import live_campaigns, rules_of, with_member_limits
from kopilka.catalog.selectors import ancestor_codes_by_sku
from kopilka.core import clock, outbox, programme
from kopilka.core.errors import ApplicationError, Conflict, NotFound, ValidationFailed
from kopilka.customers.models import Member
from kopilka.ledger import services as ledger
from kopilka.ledger.errors import MemberCannotEarnOrSpend
from kopilka.ledger.models import Entry, Hold
from kopilka.orders import contents, placing
from kopilka.orders.models import Order, OrderLine, OrderPoints, OrderReturn
from kopilka.purchases.quote import CartItem, spending_plan
from kopilka.purchases.rows import attach_lines, insert_points, keep_lines, keep_points, locked_order, move
from kopilka.tiers import services as tiers

S = Order.Status
MONEY_LIMIT = Decimal(10) ** 12
KOPECK = Decimal("0.01")
MAX_LINES = 1000
FUTURE_TOLERANCE = timedelta(minutes=5)  # clocks of tills drift


@dataclass(frozen=True)
class NewOrder:
    source: str
    external_id: str
    items: list[CartItem]
    member_id: int | None = None
    points: int | None = 0  # to spend; None: as many as the cart can take
    purchased_at: datetime | None = None
    paid: bool = False  # a receipt that is already paid (a till's offline buffer, a shop's prepaid order)
    offline: bool = False
    region: str | None = None


def _refused(message, code: str, **details) -> ValidationFailed:
    return ValidationFailed(message, code=code, details=details)


def _check(new: NewOrder) -> None:
    if not new.items:
        raise _refused(_("An order needs at least one line."), "order_without_lines")
    if len(new.items) > MAX_LINES:
        raise _refused(_("An order has at most %(n)s lines.") % {"n": MAX_LINES}, "order_too_long")
    for number, item in enumerate(new.items, start=1):
        if item.quantity <= 0 or item.price < 0 or not 0 <= item.amount < MONEY_LIMIT:
            raise _refused(
                _("Line %(n)s: the quantity must be positive, the price and amount not negative.") % {"n": number},
                "order_line_invalid", line=number,
            )
    if new.offline and new.points:
        raise _refused(_("A receipt sent after being offline cannot spend points."), "offline_cannot_spend")
    if new.points is not None and new.points < 0:
        raise _refused(_("Points to spend cannot be negative."), "invalid_points")
    if new.purchased_at is not None:
        at, now = clock.make_aware(new.purchased_at), clock.now()
        if at > now + FUTURE_TOLERANCE:
            raise _refused(_("A purchase cannot be dated in the future."), "purchase_in_future")
        days = programme.value("BACKDATING_DAYS")
        if at < now - timedelta(days=days):
            raise _refused(_("A purchase can be dated at most %(days)s days back.") % {"days": days},
                           "purchase_too_old", days=days)


def _fingerprint(new: NewOrder) -> str:
    payload = {**new.__dict__, "items": [item.__dict__ for item in new.items]}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def place_order(new: NewOrder, *, actor: str) -> Order:
    """Records the order and holds the points it spends; placing the same order again returns it unchanged, also
    when the two placements run at once (the second finds the first's order when it comes to record its own)."""
    _check(new)
    fingerprint = _fingerprint(new)
    if new.member_id is not None and not (new.paid or new.offline):
        # Nothing is earned, so no budget is locked: the member's row is the first lock, taken by the first read.
        with transaction.atomic():
            seen = placing.look_up(new.source, new.external_id, new.member_id, new.region, lock_member=True)
            if (existing := _placed_before(new, fingerprint, seen.order)) is not None:
                return existing
            return _place(new, fingerprint, actor, seen)
    seen = placing.look_up(new.source, new.external_id, new.member_id, new.region)
    if (existing := _placed_before(new, fingerprint, seen.order)) is not None:
        return existing
    return _place(new, fingerprint, actor, seen)


def _placed_before(new: NewOrder, fingerprint: str, found: tuple[int, str] | None) -> Order | None:
    """The order placed before under the same (source, external id), as `found` (id, request hash), or None;
    Conflict when that order was placed with other contents."""
    return None if found is None else _placed(new, fingerprint, found)


def _placed(new: NewOrder, fingerprint: str, found: tuple[int, str]) -> Order:
    if found[1] != fingerprint:
        raise _differs(new)
    return Order.objects.get(pk=found[0])


def _differs(new: NewOrder) -> Conflict:
    return Conflict(_("An order with this id exists and differs."), code="order_exists",
                    details={"source": new.source, "external_id": new.external_id})


def _place(new: NewOrder, fingerprint: str, actor: str, seen: placing.Seen) -> Order:
    """Under the member's row lock when `place_order` took it with its first read (an order that is not paid at
    once); otherwise this takes the points locks."""
    if new.member_id is not None and seen.member_status is None:
        raise NotFound(_("No such member."), code="member_not_found", details={"member_id": new.member_id})
    if new.member_id is not None and seen.member_status != Member.Status.ACTIVE and new.points:
        raise MemberCannotEarnOrSpend(details={"member_id": new.member_id, "status": seen.member_status})
    if new.region and seen.region_id is None:
        raise _refused(_("No such region."), "region_not_found", region=new.region)
    purchased_at = clock.make_aware(new.purchased_at) if new.purchased_at else clock.now()
    paying = new.paid or new.offline
    # An offline receipt, a purchase without a member and a blocked member's spend nothing.
    may_spend = new.member_id is not None and not new.offline and Member.status_earns_and_spends(seen.member_status)
    spends = new.points if may_spend else 0

    def place(locks: PointsLocks | None, _head) -> Order:
        planned = spending_plan(new.member_id, new.items, requested=spends, at=clock.now())
        order = Order(
            member_id=new.member_id, source=new.source, external_id=new.external_id, purchased_at=purchased_at,
            total=planned.total, discount=planned.discount, points_spent=planned.points, region_id=seen.region_id,
            offline=new.offline, request_hash=fingerprint, items=sum(line.item.quantity for line in planned.lines),
        )
        lines = [contents.line(line.number, line.item.sku, line.item.quantity, line.item.price, line.item.amount,
                               line.discount, line.points) for line in planned.lines]
        if placing.insert(order, lines) is None:  # placed meanwhile by a concurrent duplicate
            again = placing.look_up(new.source, new.external_id, None, None).order
            if again is None:  # and gone again
                raise _differs(new)
            return _placed(new, fingerprint, again)
        if planned.points:
            by_lot: dict[int, int] = defaultdict(int)
            for draw in planned.draws:
                by_lot[draw.lot_id] += draw.points
            assert new.member_id is not None  # only a member's quote spends
            order.hold_id = ledger.hold_fresh(
                member_id=new.member_id, lots=dict(by_lot), actor=actor, idempotency_key=f"order:{order.pk}:hold",
                source=ledger.Source("order", str(order.pk)), order_id=order.pk,
            )
        if paying:
            _pay(order, locks, actor)
        else:
            contents.keep(order, lines=lines, points=[])
        return order

    if new.member_id is None:
        with transaction.atomic():
            return place(None, None)
    if not paying:
        return place(None, None)
    items = [PurchaseLine(n, item.sku, item.amount) for n, item in enumerate(new.items, start=1)]
    return with_points_locks(_plan(new.member_id, items, "payment", purchased_at), place)


def pay(order_id: int, *, actor: str) -> Order:
    """Captures the order's hold, books what it earns on payment and raises the member's tier; returns the paid
    order with its lines and points attached."""
    seen: list[_Seen] = []

    def work(locks: PointsLocks | None, order: Order) -> Order:
        _require(order, {S.NEW}, "pay")
        _pay(order, locks, actor, seen[-1] if seen else None)
        return order

    return _under_locks(order_id, lambda order: _earning_plan(order, "payment", order.purchased_at, seen), work)


def ship(order_id: int, *, actor: str) -> Order:
    seen: list[_Seen] = []

    def work(locks: PointsLocks | None, order: Order) -> Order:
        _require(order, {S.PAID}, "ship")
        move(order, S.SHIPPED, actor, _earnings(order, locks, "shipment", now, actor, seen[-1]) if locks else None)
        return order

    now = clock.now()
    return _under_locks(order_id, lambda order: _earning_plan(order, "shipment", now, seen), work)


def complete(order_id: int, *, actor: str) -> Order:
    with transaction.atomic():
        order = _locked(order_id)
        _require(order, {S.PAID, S.SHIPPED}, "complete")
        _move(order, S.COMPLETED, actor)
    return order


def cancel(order_id: int, *, actor: str) -> Order:
    """An unpaid order gives its hold back; a paid one is returned whole first."""

    def work(locks: PointsLocks | None, order: Order) -> Order:
        _require(order, {S.NEW, S.PAID, S.SHIPPED, S.COMPLETED}, "cancel")
        if order.status == S.NEW:
            if order.hold_id:
                ledger.release(hold_id=order.hold_id, actor=actor)
        else:
            left = {line.line_no: line.quantity - line.returned_quantity for line in order.lines.all()}
            _return(order, locks, {n: q for n, q in left.items() if q > 0}, actor, f"order:{order.pk}:cancel")
        _move(order, S.CANCELLED, actor)
        return order

    return _under_locks(order_id, _returning_plan, work)


def return_items(order_id: int, quantities: dict[int, Decimal], *, actor: str, key: str) -> Order:
    """Returns the given quantities of the given lines; the same `key` again changes nothing (a different return
    under a used key is refused)."""
    asked = {str(n): str(q) for n, q in sorted(quantities.items())}

    def work(locks: PointsLocks | None, order: Order) -> Order:
        earlier = order.returns.filter(key=key).first()
        if earlier is not None:
            if earlier.quantities != asked:
                raise Conflict(_("This return key was used for another return."), code="return_key_reused",
                               details={"key": key})
            return order
        _require(order, {S.PAID, S.SHIPPED, S.COMPLETED}, "return")
        OrderReturn.objects.create(order=order, key=key, quantities=asked, actor=actor, created_at=clock.now())
        _return(order, locks, quantities, actor, f"order:{order.pk}:return:{key}")
        if all(line.returned_quantity >= line.quantity for line in order.lines.all()):
            _move(order, S.RETURNED, actor)
        _announce(order, "order.returned", {"return_key": key, "quantities": asked,
                                             "returned_in_full": order.status == S.RETURNED})
        return order

    return _under_locks(order_id, _returning_plan, work)


# --- locks ----------------------------------------------------------------------------------------------------------


def _under_locks(order_id: int, plan_of, work) -> Order:
    """Runs `work(locks, order)` with the order's row locked and read first (with its lines and hold), then the
    points locks of `plan_of(order)`, planned from that locked order; an order without a member takes no points
    locks."""
    return with_planned_points_locks(
        lambda: _locked(order_id), lambda order: plan_of(order) if order.member_id is not None else None, work
    )


def _plan(member_id: int, lines: list[PurchaseLine], scenario: str, at: datetime) -> LockPlan:
    groups = ancestor_codes_by_sku({line.sku for line in lines})
    lines = [PurchaseLine(line.number, line.sku, line.amount, groups.get(line.sku, frozenset())) for line in lines]
    return plan_for(member_id, live_campaigns(at), scenario=scenario, lines=lines)


@dataclass(frozen=True)
class _Seen:
    """What an earning step reads once, under the order's lock, for both its plan and its decisions: the campaigns
    live at its moment (their member limits are read under the member's lock) and the groups of the order's
    products."""

    at: datetime
    campaigns: list[LiveCampaign]
    groups: dict[str, frozenset[str]]


def _seen(order: Order, at: datetime) -> _Seen:
    return _Seen(at, live_campaigns(at), ancestor_codes_by_sku({line.sku for line in order.lines.all()}))


def _earning_plan(order: Order, scenario: str, at: datetime, seen: list[_Seen]) -> LockPlan:
    """The locks of earning under `scenario` as of `at`; what it read is appended to `seen` for the decisions."""
    assert order.member_id is not None  # _under_locks plans only for a member's order
    seen.append(_seen(order, at))
    lines = _kept_lines(order.lines.all(), seen[-1].groups)
    return plan_for(order.member_id, seen[-1].campaigns, scenario=scenario, lines=lines)


def _returning_plan(order: Order) -> LockPlan:
    """The member and the budgets of the campaigns whose points the order earned (a return gives them back)."""
    codes = {ref.rpartition(":v")[0] for ref in
             order.points.filter(kind=OrderPoints.Kind.EARN).values_list("campaign", flat=True)}
    budgeted = Campaign.objects.filter(code__in=codes, budget_points__isnull=False).order_by("pk")
    assert order.member_id is not None  # _under_locks plans only for a member's order
    return LockPlan(order.member_id, {pk: False for pk in budgeted.values_list("pk", flat=True)})


# --- steps ----------------------------------------------------------------------------------------------------------


def _hold(order: Order, lots: dict[int, int], actor: str, key: str):
    return ledger.hold(member_id=order.member_id, points=sum(lots.values()), actor=actor, lots=lots,
                       source=ledger.Source("order", str(order.pk)), idempotency_key=key)


def _live_hold(order: Order, actor: str) -> int:
    """The order's hold, held again on the same lots when it timed out; refused when those points are gone."""
    assert order.hold is not None  # read with the order (`rows.locked_order`) or just made by `_place`
    hold = order.hold
    if hold.status == Hold.Status.ACTIVE and hold.expires_at > clock.now():
        return hold.pk
    if hold.status == Hold.Status.ACTIVE:
        ledger.end_expired_hold(hold.pk)
    lots = dict(hold.lines.values_list("lot_id", "amount"))
    try:
        order.hold = _hold(order, lots, actor, f"order:{order.pk}:hold-again:{hold.pk}")
    except ApplicationError as refused:
        raise Conflict(
            _("The order's points were held too long and are no longer there: cancel the order and place it again."),
            code="points_no_longer_held", details={"order_id": order.pk, "points": hold.amount},
        ) from refused
    order.save(update_fields=["hold"])
    return order.hold.pk


def _pay(order: Order, locks: PointsLocks | None, actor: str, seen: _Seen | None = None) -> None:
    """Captures the hold, books what the order earns on payment and marks it paid; the order's points rows (it had
    none) are written with the change of status and attached to it. `seen`: what the plan read, else read here."""
    attach_lines(order)
    records = []
    if order.hold_id:
        hold_id = _live_hold(order, actor)
        entry = ledger.capture_held(hold_id=hold_id, actor=actor, idempotency_key=f"order:{order.pk}:capture")
        by_line = {str(line.line_no): line.points_spent for line in order.lines.all() if line.points_spent}
        records.append(_points(order, entry, OrderPoints.Kind.SPEND, points=-entry.amount, by_line=by_line))
    if locks is not None and order.member_id is not None:
        records += _earnings(order, locks, "payment", order.purchased_at, actor,
                             seen or _seen(order, order.purchased_at))
    keep_points(order, move(order, S.PAID, actor, records))
    earned = sum(record.points for record in records if record.kind == OrderPoints.Kind.EARN)
    _announce(order, "order.paid", {"points_spent": order.points_spent, "points_earned": earned})
    if locks is not None and order.member_id is not None:
        tiers.rise(order.member_id, actor=actor)


def _kept_lines(lines, groups: dict[str, frozenset[str]]) -> list[PurchaseLine]:
    """What the member pays for each line, less the share of the quantity returned so far."""
    kept = []
    for line in lines:
        left = line.quantity - line.returned_quantity
        if left > 0:
            amount = ((line.amount - line.discount) * left / line.quantity).quantize(KOPECK, ROUND_HALF_UP)
            kept.append(PurchaseLine(line.line_no, line.sku, amount, groups.get(line.sku, frozenset())))
    return kept


def _earnings(order: Order, locks: PointsLocks, scenario: str, at: datetime, actor: str,
              seen: _Seen) -> list[OrderPoints]:
    """Books what the order earns under the live campaigns of `scenario`, as of `at`, on the goods not returned;
    returns the order's points rows of it, for the caller to insert."""
    assert order.member_id is not None  # points locks are taken only for a member's order
    member = locks.member or load_member(order.member_id)
    if not member.can_earn_or_spend:
        return []
    campaigns = locks.live(with_member_limits(seen.campaigns, order.member_id, at))
    facts = member_facts(order.member_id, at, exclude_order=order.pk, member=member, campaigns=campaigns)
    purchase = _kept_lines(order.lines.all(), seen.groups)
    decisions = decide(campaigns, facts, scenario=scenario, lines=purchase)
    return [
        _points(order, entry, OrderPoints.Kind.EARN, points=decision.granted, scenario=scenario,
                campaign=decision.campaign.reference, by_line={str(n): p for n, p in decision.by_line.items() if p})
        for decision, entry in grant(decisions, locks, at, actor=actor, key=f"order:{order.pk}:{scenario}")
    ]


def _return(order: Order, locks: PointsLocks | None, quantities: dict[int, Decimal], actor: str, key: str) -> None:
    lines = {line.line_no: line for line in order.lines.select_for_update()}
    for number, quantity in quantities.items():
        line = lines.get(number)
        if line is None or quantity <= 0 or line.returned_quantity + quantity > line.quantity:
            raise _refused(_("Line %(n)s: nothing or too much to return.") % {"n": number}, "invalid_return",
                           line=number)
    for number, quantity in quantities.items():
        lines[number].returned_quantity += quantity
    share = {n: line.returned_quantity / line.quantity for n, line in lines.items()}
    done = list(order.points.filter(kind__in=[OrderPoints.Kind.EARN, OrderPoints.Kind.SPEND])
                .select_related("entry").prefetch_related("undone_by"))
    owed = {points.pk: _owed(points, share) for points in done}
    earned = [points for points in done if points.kind == OrderPoints.Kind.EARN and owed[points.pk]]
    records = _take_back_earnings(order, locks, earned, owed, actor, key)
    for spent in (points for points in done if points.kind == OrderPoints.Kind.SPEND and owed[points.pk]):
        total = sum(owed[spent.pk].values())
        entry = ledger.restore_spend(entry_id=spent.entry_id, points=total, actor=actor,
                                     idempotency_key=f"{key}:{spent.pk}")
        records.append(_points(order, entry, OrderPoints.Kind.RESTORE, points=entry.amount, by_line=owed[spent.pk],
                               undoes=spent))
    insert_points(sorted(records, key=lambda record: record.undoes_id or 0))  # as the points came
    OrderLine.objects.bulk_update([lines[n] for n in quantities], ["returned_quantity"])
    keep_lines(order, list(lines.values()))
    Order.objects.filter(pk=order.pk).update(items=F("items") - sum(quantities.values()))


def _owed(done: OrderPoints, share: dict[int, Decimal]) -> dict[str, int]:
    """What the returned shares of the lines owe of one earn (or spend), by line, less what returns took before."""
    undone: dict[str, int] = defaultdict(int)
    for earlier in done.undone_by.all():
        for number, points in earlier.by_line.items():
            undone[number] += points
    owed = {}
    for number, points in done.by_line.items():
        due = int(points * share[int(number)]) - undone[number]
        if due > 0:
            owed[number] = due
    return owed


def _take_back_earnings(order: Order, locks: PointsLocks | None, earned: list[OrderPoints],
                        owed: dict[int, dict[str, int]], actor: str, key: str) -> list[OrderPoints]:
    """Takes back what each earn owes, in one batch of ledger reversals; their budgets and limits get back what was
    taken back. Returns the records of the reversals, for the caller to save."""
    if not earned:
        return []
    entries = ledger.reverse_accruals(
        [ledger.TakeBack(points.entry_id, f"{key}:{points.pk}", sum(owed[points.pk].values())) for points in earned],
        actor=actor, reason_code="return", policy=programme.value("RETURN_POLICY"),
    )
    campaign_ids = dict(Campaign.objects.filter(code__in={p.campaign.rpartition(":v")[0] for p in earned})
                        .values_list("code", "pk"))
    periods = _limit_periods({points.campaign for points in earned})
    records = []
    for points, entry in zip(earned, entries, strict=True):
        campaign_id = campaign_ids.get(points.campaign.rpartition(":v")[0])
        if campaign_id is not None and locks is not None:
            give_back(locks, campaign_id, periods.get(points.campaign), -entry.amount, points.entry.effective_at)
        records.append(_points(order, entry, OrderPoints.Kind.REVERSAL, points=-entry.amount,
                               campaign=points.campaign, by_line=owed[points.pk], undoes=points))
    return records


def _limit_periods(references: set[str]) -> dict[str, str | None]:
    """The period of each campaign version's per-member limit (None without one)."""
    periods: dict[str, str | None] = {}
    for reference, rules in rules_of(references).items():
        limit = rules.accrual.member_limit if rules.accrual else None
        periods[reference] = limit.period if limit else None
    return periods


# --- bookkeeping ------------------------------------------------------------------------------------------------------


def _locked(order_id: int) -> Order:
    return locked_order(order_id)


def _require(order: Order, allowed: set[str], action: str) -> None:
    if order.status not in allowed:
        raise Conflict(
            _("The order is %(status)s: it cannot be done now.") % {"status": order.get_status_display()},
            code="order_status_conflict", details={"status": order.status, "action": action},
        )


def _announce(order: Order, event: str, facts: dict) -> None:
    """The outbox event of the order's payment or return, inside its transaction (money as text)."""
    outbox.record(event, f"order:{order.pk}", {
        "order_id": order.pk, "member_id": order.member_id, "source": order.source, "external_id": order.external_id,
        "status": order.status, "total": order.total, "purchased_at": order.purchased_at, **facts,
    })


def _move(order: Order, target: str, actor: str) -> None:
    move(order, target, actor)


def _points(order: Order, entry: Entry, kind: str, *, points: int, by_line: dict, scenario: str = "",
            campaign: str = "", undoes: OrderPoints | None = None) -> OrderPoints:
    return OrderPoints(order_id=order.pk, entry_id=entry.pk, kind=kind, scenario=scenario, campaign=campaign,
                       points=points, by_line=by_line, undoes_id=undoes.pk if undoes else None, created_at=clock.now())
