"""Who a campaign applies to: a typed, serialisable AND/OR tree of conditions over what is known of a member.

Pure: `evaluate(condition, facts)` reads only the `MemberFacts` it is given and returns a `Verdict` that says,
in the reader's language, what each condition asked, what the member had and whether it held. The same tree
compiles to one SQL query for "who is eligible now" (`kopilka.campaigns.eligibility`); both must agree.

A window of `within_days` N means "in the N days up to now"; without it, all time. Orders that were cancelled
or returned do not count.
"""

import calendar
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy
from pydantic import BaseModel, ConfigDict, Field

Comparison = Literal["lt", "le", "gt", "ge", "eq"]
Stage = Literal["new", "active", "lapsing", "lapsed"]
Match = Literal["any", "all"]

_SYMBOLS = {"lt": "<", "le": "≤", "gt": ">", "ge": "≥", "eq": "="}
STAGE_NAMES = {"new": pgettext_lazy("lifecycle stage", "new"), "active": pgettext_lazy("lifecycle stage", "active"),
               "lapsing": pgettext_lazy("lifecycle stage", "lapsing"),
               "lapsed": pgettext_lazy("lifecycle stage", "lapsed")}
_KIND_NAMES = {"individual": _("individual"), "legal_entity": _("legal entity")}


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AllOf(_Node):
    type: Literal["all"] = "all"
    of: list["Condition"] = Field(min_length=1)


class AnyOf(_Node):
    type: Literal["any"] = "any"
    of: list["Condition"] = Field(min_length=1)


class Not(_Node):
    type: Literal["not"] = "not"
    of: "Condition"


class MemberKind(_Node):
    type: Literal["member_kind"] = "member_kind"
    kind: Literal["individual", "legal_entity"]


class HasTags(_Node):
    type: Literal["tags"] = "tags"
    tags: list[str] = Field(min_length=1)
    match: Match = "any"


class HasFlags(_Node):
    type: Literal["eligibility"] = "eligibility"
    flags: list[str] = Field(min_length=1)
    match: Match = "all"


class InRegion(_Node):
    """Member's region is one of `regions` (two-digit codes) or lies in one of `federal_districts`."""

    type: Literal["region"] = "region"
    regions: list[str] = []
    federal_districts: list[str] = []


class InCity(_Node):
    """Member's city is one of `cities`, each written "<region code>:<name>" (a name alone is not unique)."""

    type: Literal["city"] = "city"
    cities: list[Annotated[str, Field(pattern=r"^\d{2,3}:.+$", max_length=130)]] = Field(min_length=1)


class MillionPlusCity(_Node):
    """Member's city has a million people or more (the population in the reference book of cities)."""

    type: Literal["million_plus"] = "million_plus"


MILLION = 1_000_000


class OrderCount(_Node):
    type: Literal["orders"] = "orders"
    op: Comparison
    value: int = Field(ge=0)
    within_days: int | None = Field(None, gt=0)


class TotalSpent(_Node):
    type: Literal["spent"] = "spent"
    op: Comparison
    value: Decimal = Field(ge=0, max_digits=14, decimal_places=2)
    within_days: int | None = Field(None, gt=0)


class LifecycleStage(_Node):
    type: Literal["lifecycle"] = "lifecycle"
    stages: list[Stage] = Field(min_length=1)


class Purchased(_Node):
    """Bought any of `skus` or a product of any of `groups` (subgroups included) within the window."""

    type: Literal["purchased"] = "purchased"
    skus: list[str] = []
    groups: list[str] = []
    within_days: int | None = Field(None, gt=0)


class InTier(_Node):
    type: Literal["tier"] = "tier"
    tiers: list[str] = Field(min_length=1)


class Birthday(_Node):
    """The member's birthday falls within `days` days before or after today (0: today)."""

    type: Literal["birthday"] = "birthday"
    days: int = Field(0, ge=0, le=31)


Condition = Annotated[
    AllOf | AnyOf | Not | MemberKind | HasTags | HasFlags | InRegion | InCity | MillionPlusCity | OrderCount
    | TotalSpent | LifecycleStage | Purchased | InTier | Birthday,
    Field(discriminator="type"),
]
for _model in (AllOf, AnyOf, Not):
    _model.model_rebuild()


class ConditionTree(BaseModel):
    """The root of a tree, for validating one from JSON: `ConditionTree.model_validate({"condition": ...})`."""

    condition: Condition


def parse(data: dict) -> Condition:
    return ConditionTree.model_validate({"condition": data}).condition


# --- what is known of a member ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LifecycleThresholds:
    """Days that separate the lifecycle stages: first purchase (or registration) within `new` days → new;
    else last purchase (or registration) within `active` days → active, within `lapsed` days → lapsing;
    older → lapsed."""

    new: int = 30
    active: int = 90
    lapsed: int = 180


@dataclass(frozen=True)
class PurchaseFact:
    at: datetime
    total: Decimal
    skus: frozenset[str]
    groups: frozenset[str]  # codes of the products' groups and of all their ancestors


@dataclass(frozen=True)
class ProductQuery:
    """"Bought any of `skus` or a product of `groups` within the window" — what a Purchased condition asks."""

    skus: tuple[str, ...]
    groups: tuple[str, ...]
    within_days: int | None


@dataclass(frozen=True)
class HistoryNeeds:
    """What the conditions of some campaigns ask of a member's purchases: order counts and sums over these windows
    (None: all time), the first and last purchase (lifecycle), and products bought."""

    windows: frozenset[int | None] = frozenset()
    lifecycle: bool = False
    products: frozenset[ProductQuery] = frozenset()


@dataclass(frozen=True)
class HistorySummary:
    """The answers to `HistoryNeeds` for one member at one moment, read in one bounded query instead of the whole
    history: counted orders and their sum per window, first and last purchase, the last purchase of each product
    query (None: none)."""

    orders: dict[int | None, int]
    spent: dict[int | None, Decimal]
    first_at: datetime | None = None
    last_at: datetime | None = None
    last_bought: dict[ProductQuery, datetime | None] = field(default_factory=dict)


def needs_of(conditions: Iterable[Condition | None]) -> HistoryNeeds:
    """What evaluating these condition trees reads of the purchase history."""
    windows: set[int | None] = set()
    products: set[ProductQuery] = set()
    lifecycle = False
    stack = [c for c in conditions if c is not None]
    while stack:
        node = stack.pop()
        if isinstance(node, AllOf | AnyOf):
            stack.extend(node.of)
        elif isinstance(node, Not):
            stack.append(node.of)
        elif isinstance(node, OrderCount | TotalSpent):
            windows.add(node.within_days)
        elif isinstance(node, LifecycleStage):
            lifecycle = True
        elif isinstance(node, Purchased):
            products.add(_product_query(node))
    return HistoryNeeds(frozenset(windows), lifecycle, frozenset(products))


def _product_query(c: "Purchased") -> ProductQuery:
    return ProductQuery(tuple(sorted(c.skus)), tuple(sorted(c.groups)), c.within_days)


@dataclass(frozen=True)
class MemberFacts:
    """What is known of a member at `now`. The purchase history is either all the counted `purchases` (reports,
    previews, tests) or, on the purchase path, a `summary` holding just what the live campaigns' conditions ask.
    `member_id` and `in_control_group` (the programme's global control group at `now`) decide which promo
    campaigns hold the member out (`campaigns.holdout`); facts without an id are held out by none."""

    kind: str
    registered_at: datetime
    now: datetime
    today: date  # in the programme's time zone
    tags: frozenset[str] = frozenset()
    flags: frozenset[str] = frozenset()
    region: str | None = None
    federal_district: str = ""
    city: str | None = None  # "<region code>:<name>", as InCity names it
    city_population: int | None = None
    birthday: date | None = None
    tier: str | None = None
    purchases: tuple[PurchaseFact, ...] = ()  # counted ones only (not cancelled or returned)
    thresholds: LifecycleThresholds = field(default_factory=LifecycleThresholds)
    summary: HistorySummary | None = None
    member_id: int | None = None
    in_control_group: bool = False

    def purchases_within(self, days: int | None) -> list[PurchaseFact]:
        if days is None:
            return list(self.purchases)
        since = self.now - timedelta(days=days)
        return [p for p in self.purchases if p.at > since]

    def orders_within(self, days: int | None) -> int:
        if self.summary is not None:
            return self.summary.orders[days]
        return len(self.purchases_within(days))

    def spent_within(self, days: int | None) -> Decimal:
        if self.summary is not None:
            return self.summary.spent[days]
        return sum((p.total for p in self.purchases_within(days)), Decimal(0))

    def last_bought(self, query: ProductQuery) -> datetime | None:
        if self.summary is not None:
            return self.summary.last_bought[query]
        skus, groups = set(query.skus), set(query.groups)
        hits = [p.at for p in self.purchases_within(query.within_days) if p.skus & skus or p.groups & groups]
        return max(hits, default=None)

    def stage(self) -> str:
        if self.summary is not None:
            first = self.summary.first_at or self.registered_at
            last = self.summary.last_at or self.registered_at
        else:
            first = min((p.at for p in self.purchases), default=self.registered_at)
            last = max((p.at for p in self.purchases), default=self.registered_at)
        t = self.thresholds
        if first > self.now - timedelta(days=t.new):
            return "new"
        if last > self.now - timedelta(days=t.active):
            return "active"
        if last > self.now - timedelta(days=t.lapsed):
            return "lapsing"
        return "lapsed"


# --- evaluation ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    passed: bool
    text: str
    children: tuple["Verdict", ...] = ()

    def explain(self, indent: int = 0) -> str:
        """The decision as indented lines, each marked ✓ or ✗."""
        line = f"{'  ' * indent}{'✓' if self.passed else '✗'} {self.text}"
        return "\n".join([line, *(child.explain(indent + 1) for child in self.children)])


def evaluate(condition: Condition, facts: MemberFacts) -> Verdict:
    return _EVALUATORS[condition.type](condition, facts)


def _all(c: AllOf, facts: MemberFacts) -> Verdict:
    children = tuple(evaluate(child, facts) for child in c.of)
    return Verdict(all(v.passed for v in children), str(_("all of the following")), children)


def _any(c: AnyOf, facts: MemberFacts) -> Verdict:
    children = tuple(evaluate(child, facts) for child in c.of)
    return Verdict(any(v.passed for v in children), str(_("at least one of the following")), children)


def _not(c: Not, facts: MemberFacts) -> Verdict:
    inner = evaluate(c.of, facts)
    return Verdict(not inner.passed, str(_("not the following")), (inner,))


def _kind(c: MemberKind, facts: MemberFacts) -> Verdict:
    text = _("member kind is %(wanted)s (the member: %(actual)s)") % {
        "wanted": _KIND_NAMES[c.kind], "actual": _KIND_NAMES.get(facts.kind, facts.kind),
    }
    return Verdict(facts.kind == c.kind, str(text))


def _matches(wanted: Iterable[str], have: frozenset[str], match: str) -> bool:
    wanted = set(wanted)
    return wanted <= have if match == "all" else bool(wanted & have)


def _listed(values: Iterable[str]) -> str:
    return ", ".join(sorted(values)) or "—"


def _tags(c: HasTags, facts: MemberFacts) -> Verdict:
    template = _("has all the tags %(wanted)s (the member: %(actual)s)") if c.match == "all" else _(
        "has any of the tags %(wanted)s (the member: %(actual)s)"
    )
    text = template % {"wanted": _listed(c.tags), "actual": _listed(facts.tags)}
    return Verdict(_matches(c.tags, facts.tags, c.match), str(text))


def _flags(c: HasFlags, facts: MemberFacts) -> Verdict:
    template = _("has all the eligibility flags %(wanted)s (the member: %(actual)s)") if c.match == "all" else _(
        "has any of the eligibility flags %(wanted)s (the member: %(actual)s)"
    )
    text = template % {"wanted": _listed(c.flags), "actual": _listed(facts.flags)}
    return Verdict(_matches(c.flags, facts.flags, c.match), str(text))


def _region(c: InRegion, facts: MemberFacts) -> Verdict:
    passed = (facts.region in c.regions) or (
        bool(facts.federal_district) and facts.federal_district in c.federal_districts)
    wanted = _listed([*c.regions, *c.federal_districts])
    actual = " / ".join(v for v in (facts.region, facts.federal_district) if v) or "—"
    text = _("lives in %(wanted)s (the member: %(actual)s)") % {"wanted": wanted, "actual": actual}
    return Verdict(passed, str(text))


def _city(c: InCity, facts: MemberFacts) -> Verdict:
    text = _("lives in the city %(wanted)s (the member: %(actual)s)") % {
        "wanted": _listed(c.cities), "actual": facts.city or "—"}
    return Verdict(facts.city in c.cities, str(text))


def _million_plus(c: MillionPlusCity, facts: MemberFacts) -> Verdict:
    population = facts.city_population
    actual = facts.city or "—"
    if population:
        people = format(population, ",").replace(",", "\u202f")
        actual = f"{actual}, {people}"
    text = _("lives in a city of a million or more (the member: %(actual)s)") % {"actual": actual}
    return Verdict((population or 0) >= MILLION, str(text))


def _compare(actual, op: str, value) -> bool:
    return {
        "lt": actual < value, "le": actual <= value, "gt": actual > value, "ge": actual >= value, "eq": actual == value,
    }[op]


def _window(days: int | None) -> str:
    if days is None:
        return str(_("all time"))
    return ngettext("the last %(n)s day", "the last %(n)s days", days) % {"n": days}


def _orders(c: OrderCount, facts: MemberFacts) -> Verdict:
    count = facts.orders_within(c.within_days)
    text = _("orders over %(window)s %(op)s %(value)s (the member: %(actual)s)") % {
        "window": _window(c.within_days), "op": _SYMBOLS[c.op], "value": c.value, "actual": count,
    }
    return Verdict(_compare(count, c.op, c.value), str(text))


def _spent(c: TotalSpent, facts: MemberFacts) -> Verdict:
    total = facts.spent_within(c.within_days)
    text = _("spent over %(window)s %(op)s %(value)s ₽ (the member: %(actual)s ₽)") % {
        "window": _window(c.within_days), "op": _SYMBOLS[c.op], "value": c.value, "actual": total,
    }
    return Verdict(_compare(total, c.op, c.value), str(text))


def _lifecycle(c: LifecycleStage, facts: MemberFacts) -> Verdict:
    stage = facts.stage()
    text = _("lifecycle stage is %(wanted)s (the member: %(actual)s)") % {
        "wanted": ", ".join(str(STAGE_NAMES[s]) for s in c.stages), "actual": STAGE_NAMES[stage],
    }
    return Verdict(stage in c.stages, str(text))


def _purchased(c: Purchased, facts: MemberFacts) -> Verdict:
    last = facts.last_bought(_product_query(c))
    text = _("bought %(what)s over %(window)s (the member: %(actual)s)") % {
        "what": _listed([*c.skus, *c.groups]),
        "window": _window(c.within_days),
        "actual": date_format(last.date(), "SHORT_DATE_FORMAT") if last else _("no such purchase"),
    }
    return Verdict(last is not None, str(text))


def _tier(c: InTier, facts: MemberFacts) -> Verdict:
    text = _("tier is %(wanted)s (the member: %(actual)s)") % {"wanted": _listed(c.tiers), "actual": facts.tier or "—"}
    return Verdict(facts.tier in c.tiers, str(text))


def birthdays_near(today: date, days: int) -> set[tuple[int, int]]:
    """(month, day) pairs within `days` of `today`; outside leap years, 29 February is celebrated on the 28th."""
    near = {((today + timedelta(days=d)).month, (today + timedelta(days=d)).day) for d in range(-days, days + 1)}
    if (2, 28) in near and not calendar.isleap(today.year):
        near.add((2, 29))
    return near


def _birthday(c: Birthday, facts: MemberFacts) -> Verdict:
    near = birthdays_near(facts.today, c.days)
    born = facts.birthday
    passed = born is not None and (born.month, born.day) in near
    text = ngettext(
        "birthday within %(n)s day of today (the member: %(actual)s)",
        "birthday within %(n)s days of today (the member: %(actual)s)",
        c.days,
    ) % {"n": c.days, "actual": date_format(born, "SHORT_DATE_FORMAT") if born else _("not known")}
    return Verdict(passed, text)


_EVALUATORS: dict[str, Callable[[Any, MemberFacts], Verdict]] = {
    "all": _all, "any": _any, "not": _not, "member_kind": _kind, "tags": _tags, "eligibility": _flags,
    "region": _region, "city": _city, "million_plus": _million_plus, "orders": _orders, "spent": _spent,
    "lifecycle": _lifecycle, "purchased": _purchased, "tier": _tier, "birthday": _birthday,
}
