"""Ledger reads: balance with lots and upcoming expirations, history, utilization rate."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import NamedTuple

from django.db import connection
from django.db.models import Q, Sum
from django.utils.translation import gettext_lazy as _

from kopilka.core import clock, programme, sql
from kopilka.core.errors import NotFound, ValidationFailed
from kopilka.customers.models import Member, Region
from kopilka.ledger import booking
from kopilka.ledger.models import Account, Allocation, Entry, Lot, LotCategory

REDEMPTION_ORDER_TEXT = {
    booking.CATEGORY_FIFO: _(
        "Promo points are spent first, then compensation points, then base points; "
        "within each kind the oldest points go first."
    ),
    booking.SOONEST_EXPIRING: _("The points that expire soonest are spent first; among equals, the oldest go first."),
}


@dataclass(frozen=True)
class LotView:
    id: int
    category: str
    source_kind: str
    source_ref: str
    amount: int
    remaining: int
    held: int
    accrued_at: datetime
    activates_at: datetime
    expires_at: datetime | None
    state: str  # "active", "pending", "expired" (burns at the next expiry run), "debt"

    @property
    def free(self) -> int:
        """Points of the lot that no hold reserves."""
        return self.remaining - self.held

    @property
    def last_day(self) -> date | None:
        """The last calendar day (programme time zone) on which the points can be spent."""
        return None if self.expires_at is None else clock.local_date(self.expires_at - timedelta(microseconds=1))


@dataclass(frozen=True)
class Balance:
    member_id: int
    total: int
    available: int
    pending: int
    held: int
    debt: int
    lots: list[LotView]
    upcoming_expirations: list[tuple[date, int]]
    redemption_order: str
    redemption_order_text: str = field(default="")


def _member_exists(member_id: int) -> None:
    if not Member.objects.filter(pk=member_id).exists():
        raise NotFound(_("No such member."), code="member_not_found", details={"member_id": member_id})


def balance(member_id: int, at: datetime | None = None) -> Balance:
    """Available = free points of active, unexpired lots; pending = points not yet active; held = reserved."""
    _member_exists(member_id)
    at = at or clock.now()
    account = Account.objects.filter(member_id=member_id).first()
    policy = programme.value("REDEMPTION_ORDER")
    lots: list[LotView] = []
    if account is not None:
        for lot in (
            Lot.objects.filter(account=account)
            .exclude(remaining=0)
            .select_related("category")
            .order_by("expires_at", "id")
        ):
            if lot.is_debt:
                state = "debt"
            elif lot.expires_at is not None and lot.expires_at <= at:
                state = "expired"
            elif lot.activates_at > at:
                state = "pending"
            else:
                state = "active"
            lots.append(
                LotView(
                    id=lot.pk, category=lot.category.code, source_kind=lot.source_kind, source_ref=lot.source_ref,
                    amount=lot.amount, remaining=lot.remaining, held=lot.held, accrued_at=lot.accrued_at,
                    activates_at=lot.activates_at, expires_at=lot.expires_at, state=state,
                )
            )
    upcoming: dict[date, int] = defaultdict(int)
    for view in lots:
        if view.state in ("active", "pending") and view.last_day is not None:
            upcoming[view.last_day] += view.remaining
    return Balance(
        member_id=member_id,
        total=account.balance if account else 0,
        available=sum(lot.remaining - lot.held for lot in lots if lot.state == "active"),
        pending=sum(lot.remaining for lot in lots if lot.state == "pending"),
        held=account.held if account else 0,
        debt=-sum(lot.remaining for lot in lots if lot.state == "debt"),
        lots=lots,
        upcoming_expirations=sorted(upcoming.items()),
        redemption_order=policy,
        redemption_order_text=str(REDEMPTION_ORDER_TEXT[policy]),
    )


@dataclass(frozen=True)
class HistoryPage:
    entries: list[Entry]
    next_cursor: int | None


MAX_PAGE = 500


def history(
    member_id: int,
    *,
    kinds: list[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: int | None = None,
    limit: int = 50,
) -> HistoryPage:
    """Entries of a member, newest first, by effective time window and kind; keyset-paginated by entry id."""
    _member_exists(member_id)
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationFailed(
            _("The page size must be between 1 and %(max)d.") % {"max": MAX_PAGE}, details={"limit": limit}
        )
    unknown = sorted(set(kinds or []) - set(Entry.Kind.values))
    if unknown:
        raise ValidationFailed(
            _("Unknown entry kinds: %(kinds)s") % {"kinds": ", ".join(unknown)},
            code="unknown_entry_kind",
            details={"unknown": unknown, "known": list(Entry.Kind.values)},
        )
    query = Entry.objects.filter(account__member_id=member_id).prefetch_related("allocations").order_by("-id")
    if kinds:
        query = query.filter(kind__in=kinds)
    if since:
        query = query.filter(effective_at__gte=since)
    if until:
        query = query.filter(effective_at__lt=until)
    if cursor:
        query = query.filter(id__lt=cursor)
    rows = list(query[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return HistoryPage(entries=rows, next_cursor=rows[-1].pk if more and rows else None)


def entry_lots(entry: Entry) -> list[tuple[int, int]]:
    """[(lot_id, delta)] an entry moved: its own lot, or its allocations."""
    if entry.lot_id is not None:
        return [(entry.lot_id, entry.amount)]
    return [(a.lot_id, a.amount) for a in entry.allocations.all()]


@dataclass(frozen=True)
class Utilization:
    """UR = spent / accrued; limiting UR = 1 − burned / accrued (SPEC §2.10). None when nothing was accrued."""

    since: datetime
    until: datetime
    basis: str
    accrued: int
    spent: int
    burned: int
    rate: Fraction | None
    limiting_rate: Fraction | None


def _ratio(part: int, whole: int) -> Fraction | None:
    return Fraction(part, whole) if whole else None


def utilization(since: datetime, until: datetime, basis: str = "flow") -> Utilization:
    """`flow`: what was accrued, spent and burned during [since, until).
    `cohort`: of the points accrued during [since, until), how many were spent and burned by now."""
    if since >= until:
        raise ValidationFailed(_("The period must end after it starts."), code="invalid_period")
    if basis == "flow":
        sums = dict(
            Entry.objects.filter(effective_at__gte=since, effective_at__lt=until)
            .values_list("kind")
            .annotate(total=Sum("amount"))
        )
        positive_adjustments = (
            Entry.objects.filter(effective_at__gte=since, effective_at__lt=until, kind=Entry.Kind.ADJUSTMENT,
                                 amount__gt=0)
            .aggregate(total=Sum("amount"))["total"]
            or 0
        )
        accrued = sums.get(Entry.Kind.ACCRUAL, 0) + positive_adjustments + sums.get(Entry.Kind.REVERSAL, 0)
        spent = -sums.get(Entry.Kind.SPEND, 0) - sums.get(Entry.Kind.RESTORE, 0)
        burned = -sums.get(Entry.Kind.EXPIRY, 0)
    elif basis == "cohort":
        cohort = Lot.objects.filter(accrued_at__gte=since, accrued_at__lt=until, is_debt=False)
        accrued = cohort.aggregate(total=Sum("amount"))["total"] or 0
        reversed_ = -(
            Entry.objects.filter(kind=Entry.Kind.REVERSAL, reverses__lot__in=cohort).aggregate(total=Sum("amount"))[
                "total"
            ]
            or 0
        )
        accrued -= reversed_
        spent = -(
            Allocation.objects.filter(lot__in=cohort)
            .filter(Q(entry__kind=Entry.Kind.SPEND) | Q(entry__kind=Entry.Kind.RESTORE))
            .aggregate(total=Sum("amount"))["total"]
            or 0
        )
        burned = -(Entry.objects.filter(kind=Entry.Kind.EXPIRY, lot__in=cohort)
                   .aggregate(total=Sum("amount"))["total"] or 0)
    else:
        raise ValidationFailed(_("Unknown basis."), code="unknown_basis", details={"known": ["flow", "cohort"]})
    return Utilization(
        since=since,
        until=until,
        basis=basis,
        accrued=accrued,
        spent=spent,
        burned=burned,
        rate=_ratio(spent, accrued),
        limiting_rate=None if not accrued else 1 - Fraction(burned, accrued),
    )


class SpendableLot(NamedTuple):
    id: int
    free: int  # points that nothing has reserved
    source_kind: str
    source_ref: str


_SPENDABLE = f"""
SELECT l.id, l.remaining - l.held, l.source_kind, l.source_ref
FROM {Lot._meta.db_table} l
JOIN {Account._meta.db_table} a ON a.id = l.account_id
JOIN {LotCategory._meta.db_table} c ON c.id = l.category_id
WHERE a.member_id = %s AND NOT l.is_debt AND l.spendable AND l.activates_at <= %s
  AND (l.expires_at IS NULL OR l.expires_at > %s)
ORDER BY {{order}}
"""
_SPENDABLE_BY_POLICY = {
    policy: _SPENDABLE.format(order=booking.redemption_order_sql(policy, {
        "category_rank": "c.redemption_rank", "accrued_at": "l.accrued_at", "expires_at": "l.expires_at",
        "id": "l.id",
    }))
    for policy in booking.REDEMPTION_ORDERS
}


def spendable_lots(member_id: int, at: datetime, policy: str) -> list[SpendableLot]:
    """The member's lots with free points spendable at `at` (active, not expired, not debt), in the `policy`
    redemption order (first to spend first), in one query."""
    return [SpendableLot(*row) for row in sql.rows(_SPENDABLE_BY_POLICY[policy], [member_id, sql.at(at), sql.at(at)])]


# --- utilization by segment ---------------------------------------------------------------------------------

SEGMENTS = ("campaign", "category", "region", "member_kind")
# The source kind of points a campaign granted; their reference names the version, "<code>:v<number>".
CAMPAIGN_SOURCE = "campaign"


@dataclass(frozen=True)
class SegmentUtilization:
    """One segment's accrued, spent and burned points. `segment` is its code (a campaign's code, a category's,
    a region's, a member kind) or None for points outside every segment of the cut (e.g. no campaign's)."""

    segment: str | None
    name: str
    accrued: int
    spent: int
    burned: int

    @property
    def rate(self) -> Fraction | None:
        return _ratio(self.spent, self.accrued)

    @property
    def limiting_rate(self) -> Fraction | None:
        return None if not self.accrued else 1 - Fraction(self.burned, self.accrued)


@dataclass(frozen=True)
class UtilizationCut:
    """The utilization of a period cut by `by`: the segments' figures add up to `total` exactly."""

    total: Utilization
    by: str
    segments: list[SegmentUtilization]


# Every move of points on a lot in one row (account, lot, accrued, spent, burned): entries booked on one lot
# directly, a reversal on the lot of the accrual it takes back (even the part booked as a debt), spendings and
# their returns through their allocations. As `utilization` defines them: accrued = accruals + manual credits
# − accruals taken back; spent = spendings − spent points given back; burned = expired points.
_MOVES = f"""
    SELECT e.account_id, CASE WHEN e.kind = 'reversal' THEN r.lot_id ELSE e.lot_id END AS lot_id,
           CASE WHEN e.kind IN ('accrual', 'reversal') OR (e.kind = 'adjustment' AND e.amount > 0)
                THEN e.amount ELSE 0 END AS accrued,
           CASE WHEN e.kind IN ('spend', 'restore') THEN -e.amount ELSE 0 END AS spent,
           CASE WHEN e.kind = 'expiry' THEN -e.amount ELSE 0 END AS burned
    FROM {Entry._meta.db_table} e LEFT JOIN {Entry._meta.db_table} r ON r.id = e.reverses_id
    WHERE e.kind IN ('accrual', 'adjustment', 'reversal', 'spend', 'restore', 'expiry')
      AND (e.lot_id IS NOT NULL OR e.kind = 'reversal') {{period}}
    UNION ALL
    SELECT e.account_id, al.lot_id, 0, -al.amount, 0
    FROM {Allocation._meta.db_table} al JOIN {Entry._meta.db_table} e ON e.id = al.entry_id
    WHERE e.kind IN ('spend', 'restore') {{period}}
"""
_SEGMENT_COLUMNS = {
    "campaign": f"CASE WHEN l.source_kind = '{CAMPAIGN_SOURCE}' THEN l.source_ref END, ''",
    "category": "c.code, c.name",
    "region": "rg.code, rg.name",
    "member_kind": "m.kind, ''",
}
_CUT = f"""
SELECT {{columns}}, SUM(p.accrued), SUM(p.spent), SUM(p.burned)
FROM ({_MOVES}) p
JOIN {Lot._meta.db_table} l ON l.id = p.lot_id
JOIN {LotCategory._meta.db_table} c ON c.id = l.category_id
JOIN {Account._meta.db_table} a ON a.id = p.account_id
JOIN {Member._meta.db_table} m ON m.id = a.member_id
LEFT JOIN {Region._meta.db_table} rg ON rg.id = m.region_id
{{cohort}}
GROUP BY 1, 2
"""


def utilization_by(since: datetime, until: datetime, by: str, basis: str = "flow") -> UtilizationCut:
    """`utilization` cut by campaign (the lot's campaign, every version together), point category, the
    member's region or the member's kind, in one query: a spending counts where the lots it drew from belong,
    a reversal where the accrual it takes back belongs. Segments sorted by code, points of no segment last."""
    if since >= until:
        raise ValidationFailed(_("The period must end after it starts."), code="invalid_period")
    if by not in SEGMENTS:
        raise ValidationFailed(_("Unknown segment: %(segment)s.") % {"segment": by}, code="unknown_segment",
                               details={"allowed": list(SEGMENTS)})
    bounds = [sql.at(since), sql.at(until)]
    if basis == "flow":
        period, cohort, params = "AND e.effective_at >= %s AND e.effective_at < %s", "", bounds * 2
    elif basis == "cohort":
        period, params = "", bounds
        cohort = "WHERE l.accrued_at >= %s AND l.accrued_at < %s AND NOT l.is_debt"
    else:
        raise ValidationFailed(_("Unknown basis."), code="unknown_basis",
                               details={"known": ["flow", "cohort"]})
    statement = _CUT.format(columns=_SEGMENT_COLUMNS[by], cohort=cohort, period=period)
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        rows = cursor.fetchall()
    found: dict[str | None, list] = {}
    for code, name, accrued, spent, burned in rows:
        if by == "campaign" and code is not None:
            code = code.rsplit(":v", 1)[0]  # every version of a campaign is the campaign
        if by == "member_kind":
            name = str(Member.Kind(code).label)
        row = found.setdefault(code, [name or "", 0, 0, 0])
        row[1], row[2], row[3] = row[1] + int(accrued), row[2] + int(spent), row[3] + int(burned)
    in_order = sorted(found.items(), key=lambda item: (item[0] is None, item[0] or ""))
    segments = [SegmentUtilization(code, name, accrued, spent, burned)
                for code, (name, accrued, spent, burned) in in_order]
    accrued, spent, burned = (sum(getattr(s, f) for s in segments) for f in ("accrued", "spent", "burned"))
    total = Utilization(since=since, until=until, basis=basis, accrued=accrued, spent=spent, burned=burned,
                        rate=_ratio(spent, accrued),
                        limiting_rate=None if not accrued else 1 - Fraction(burned, accrued))
    return UtilizationCut(total=total, by=by, segments=segments)


def points_earned(member_id: int, now: datetime, windows: list[int]) -> dict[int, int]:
    """Points accrued to the member's lots (accruals and positive adjustments, less reversals) over each window of
    days up to `now`: one statement."""
    if not windows:
        return {}
    columns = ", ".join("SUM(CASE WHEN e.effective_at > %s THEN e.amount ELSE 0 END)" for _ in windows)
    kinds = [Entry.Kind.ACCRUAL, Entry.Kind.ADJUSTMENT, Entry.Kind.REVERSAL]
    row = sql.rows(
        f"SELECT {columns} FROM {Entry._meta.db_table} e JOIN {Account._meta.db_table} a ON a.id = e.account_id"
        f" JOIN {Lot._meta.db_table} l ON l.id = e.lot_id WHERE a.member_id = %s AND NOT l.is_debt"
        f" AND e.kind IN ({sql.placeholders(kinds)}) AND e.effective_at <= %s AND e.effective_at > %s",
        [*(sql.at(now - timedelta(days=days)) for days in windows), member_id, *kinds, sql.at(now),
         sql.at(now - timedelta(days=max(windows)))],
    )[0]
    return {days: int(value or 0) for days, value in zip(windows, row, strict=True)}
