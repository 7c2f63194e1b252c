"""The rules of one campaign version (SPEC §3), as a typed, serialisable document.

Pure: validation only. Money is Decimal; points are integers; percentages are Decimal percent (7.5 = 7.5 %).
"""

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kopilka.campaigns.conditions import Condition

Percent = Decimal
Period = Literal["day", "week", "month", "year", "campaign"]
Scenario = Literal["payment", "shipment", "event"]

EventCode = Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,30}$")]  # a code of the event types' reference book


class _Rules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MemberLimit(_Rules):
    """At most `points` points from this campaign per member per `period` (calendar periods in the programme's
    time zone; "campaign" is the campaign's whole life)."""

    points: int = Field(gt=0)
    period: Period


class AccrualRule(_Rules):
    """What a member earns.

    For a purchase, reward "percent" gives `percent` % (or the member's tier's percent from `tier_percents`) of
    the eligible lines' amount as roubles of reward,
    turned into points at `roubles_per_point` (1 point = X roubles), then multiplied by `multiplier`
    ("200 become 400"); reward "fixed" gives `points` × `multiplier` per qualifying purchase or event.
    Eligible lines: those of products in `include_groups` (all when empty) and not in `exclude_groups`.
    The order's eligible amount must reach `min_order`.
    """

    reward: Literal["percent", "fixed"]
    percent: Percent | None = Field(None, gt=0, le=100, decimal_places=2)
    tier_percents: dict[str, Percent] = {}  # tier code → the percent for members of that tier
    points: int | None = Field(None, gt=0)
    roubles_per_point: Decimal = Field(Decimal(1), gt=0, max_digits=10, decimal_places=2)
    multiplier: Decimal = Field(Decimal(1), gt=0, le=100, decimal_places=2)
    include_groups: list[str] = []
    exclude_groups: list[str] = []
    min_order: Decimal = Field(Decimal(0), ge=0, max_digits=14, decimal_places=2)
    scenario: Scenario = "payment"
    event_types: list[EventCode] = []
    pending_days: int = Field(0, ge=0, le=365)
    member_limit: MemberLimit | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "AccrualRule":
        if self.reward == "percent" and self.percent is None:
            raise ValueError("a percent reward needs `percent`")
        if any(not 0 < p <= 100 for p in self.tier_percents.values()):
            raise ValueError("tier percents lie in (0, 100]")
        if self.reward == "fixed" and self.points is None:
            raise ValueError("a fixed reward needs `points`")
        if self.scenario == "event" and not self.event_types:
            raise ValueError("an event scenario needs `event_types`")
        if self.scenario == "event" and self.reward != "fixed":
            raise ValueError("an event earns fixed points")
        return self


class RedemptionRule(_Rules):
    """How the campaign's points may be spent: only on products of `groups` (any product when empty), each point
    worth `coefficient` roubles of discount, at most `line_cap_percent` % of a line and `receipt_cap_percent` %
    of the receipt (the programme's cap when not set)."""

    groups: list[str] = []
    coefficient: Decimal = Field(Decimal(1), gt=0, le=100, decimal_places=2)
    line_cap_percent: Percent | None = Field(None, gt=0, le=100, decimal_places=2)
    receipt_cap_percent: Percent | None = Field(None, gt=0, le=100, decimal_places=2)


class ExpiryRule(_Rules):
    """When the points of an accrual burn: `days` after accrual; at the end of the month `months` after the
    accrual's month (0: the same month); or on a fixed `date` (end of that day)."""

    kind: Literal["days", "end_of_month", "fixed_date"] = "days"
    days: int | None = Field(365, gt=0, le=36_500)
    months: int = Field(0, ge=0, le=120)
    date: dt.date | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "ExpiryRule":
        if self.kind == "days" and self.days is None:
            raise ValueError("expiry in days needs `days`")
        if self.kind == "fixed_date" and self.date is None:
            raise ValueError("a fixed expiry needs `date`")
        return self


MAX_HOLDOUT_PERCENT = Decimal(50)


class CampaignRules(_Rules):
    """Who (conditions; everybody when absent), what they earn (accrual), how they spend it (redemption) and
    when it burns (expiry). A promo campaign may hold out `holdout_percent` % of its eligible members, who then
    earn nothing from it: the control group its results compare with (`campaigns.holdout`). A share of 0 is not
    written out, so rules stored before there were holdouts read back equal."""

    conditions: Condition | None = None
    holdout_percent: Percent = Field(Decimal(0), ge=0, le=MAX_HOLDOUT_PERCENT, decimal_places=2,
                                     exclude_if=lambda share: share == 0)
    accrual: AccrualRule | None = None
    redemption: RedemptionRule = RedemptionRule()
    expiry: ExpiryRule = ExpiryRule()


def parse_rules(data: dict) -> CampaignRules:
    return CampaignRules.model_validate(data)
