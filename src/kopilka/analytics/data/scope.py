"""What an analytics question is asked about: a period of programme days and the members it looks at.

A period runs from `start` to `end`, both whole programme days (time zone of the programme) and both included. The
previous period is the one of the same length that ends the day before `start` (retention compares the two).
Filters narrow the members: region, kind, current tier, registration source, and a campaign (members who earned
points from any version of it in the period). Purchases of non-members are never narrowed by member filters.
"""

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection
from django.utils.translation import gettext_lazy as _

from kopilka.core import clock, sql
from kopilka.core.errors import ValidationFailed
from kopilka.orders.models import COUNTED_STATUSES

FILTERS = ("region", "kind", "tier", "source", "campaign")


@dataclass(frozen=True)
class Scope:
    start: date
    end: date
    region: str = ""  # region code
    kind: str = ""  # member kind
    tier: str = ""  # tier code (the member's tier now)
    source: str = ""  # registration source
    campaign: str = ""  # campaign code

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise ValidationFailed(_("The period starts after it ends."), code="period_reversed",
                                   details={"start": self.start.isoformat(), "end": self.end.isoformat()})

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def previous(self) -> "Scope":
        return replace(self, start=self.start - timedelta(days=self.days), end=self.start - timedelta(days=1))

    @property
    def filters(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in FILTERS if getattr(self, name)}

    def params(self) -> dict:
        """The SQL parameters every analytics statement of this scope may use."""
        return {
            "tz": str(clock.programme_tz()), "conn_tz": connection.timezone_name,
            "start": self.start, "end": self.end, "prev_start": self.previous.start,
            "year_start": self.end - timedelta(days=364),
            "from": sql.at(clock.start_of_day(self.previous.start)), "since": sql.at(clock.start_of_day(self.start)),
            "until": sql.at(clock.end_of_day(self.end)), **{f"f_{name}": value for name, value in self.filters.items()},
            "f_campaign_like": f"{self.campaign}:v%",
        }

    def member_condition(self, member: str = "m") -> str:
        """SQL that is true for the members the filters keep (`member` is the alias of customers_member)."""
        parts = ["1 = 1"]
        if self.region:
            parts.append(f"{member}.region_id IN (SELECT r.id FROM customers_region r WHERE r.code = %(f_region)s)")
        if self.kind:
            parts.append(f"{member}.kind = %(f_kind)s")
        if self.source:
            parts.append(f"{member}.registration_source = %(f_source)s")
        if self.tier:
            parts.append(f"""EXISTS (SELECT 1 FROM tiers_membertier mt JOIN tiers_tier t ON t.id = mt.tier_id
                             WHERE mt.member_id = {member}.id AND t.code = %(f_tier)s)""")
        if self.campaign:
            parts.append(f"""EXISTS (SELECT 1 FROM orders_orderpoints op JOIN orders_order co ON co.id = op.order_id
                             WHERE co.member_id = {member}.id AND op.kind = 'earn'
                               AND op.campaign LIKE %(f_campaign_like)s
                               AND op.created_at >= %(since)s AND op.created_at < %(until)s)""")
        return " AND ".join(parts)


def counted(order: str = "o") -> str:
    """SQL that is true for orders that count as purchases."""
    return f"{order}.status IN ({', '.join(repr(str(status)) for status in COUNTED_STATUSES)})"


def roubles(kopecks_) -> Decimal:
    """Whole kopecks (an int, a numpy integer, or a Decimal quotient) back as roubles to the kopeck."""
    amount = kopecks_ if isinstance(kopecks_, Decimal) else Decimal(int(kopecks_))
    return (amount / 100).quantize(Decimal("0.01"))


def share(part, whole, digits: int = 4) -> float | None:
    """part / whole rounded, or None when there is no whole (a share of nothing is not 0)."""
    return round(float(part) / float(whole), digits) if whole else None


def kopecks_sum(column: str) -> str:
    """SQL for the sum of a money column in whole kopecks, exact on either database (`sql.exact_sum`)."""
    return sql.exact_sum(column, sql.KOPECKS)


def thousandths_sum(column: str) -> str:
    """SQL for the sum of a quantity column in whole thousandths, exact on either database (`sql.exact_sum`)."""
    return sql.exact_sum(column, sql.THOUSANDTHS)
