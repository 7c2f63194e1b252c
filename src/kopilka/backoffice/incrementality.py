"""The "exposed vs held out" section of a campaign's results, as people read it: the two groups side by side, the
differences with their 95 % intervals (`analytics.measures.incrementality`), and whether the groups are big
enough to detect the effect the marketer asks about. A journey's results show the same section; `uplift_shown` and
`sample_check` serve a mailing's results alike."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from django.utils.translation import gettext as _

from kopilka.analytics.measures import incrementality as stats
from kopilka.backoffice.presenters import formatted
from kopilka.campaigns.holdout_results import Group


class Compared(Protocol):
    """Two groups compared: a campaign's (`holdout_results.Comparison`) or a journey's results."""

    @property
    def exposed(self) -> Group: ...

    @property
    def held_out(self) -> Group: ...


@dataclass(frozen=True)
class Section:
    comparison: Compared
    rows: list[tuple[str, str, str, str]]  # measure, exposed, held out, difference with its interval
    detectable: str  # the smallest difference of conversion the groups detect, as shown
    needed: str | None  # members per group to detect the asked effect, as shown
    enough: bool | None  # whether the groups detect the asked effect (None: cannot tell)


def _points(value: float | None) -> str:
    return formatted(None if value is None else Decimal(str(round(value, 2))), "number")


def _pp(value: float) -> str:
    """A difference of shares in percentage points, signed."""
    sign = "+" if value > 0 else ""
    return _("%(value)s pp") % {"value": sign + formatted(Decimal(str(round(value * 100, 2))), "number")}


def _between(low: float | None, high: float | None, shown) -> str:
    return "" if low is None or high is None else _(" (95 %% CI %(low)s … %(high)s)") % {
        "low": shown(low), "high": shown(high)}


def _money(value: float) -> str:
    return formatted(Decimal(str(round(value, 2))), "money")


def section(found: Compared, effect: Decimal) -> Section:
    """The section for `found`, judged against an `effect` on conversion of that many percentage points: the
    smallest difference the groups detect, and the members each group needs for `effect`, at the conversion of
    both groups together."""
    e, c = found.exposed, found.held_out
    conversion = uplift_shown(stats.proportion_uplift(e.converted, e.members, c.converted, c.members))
    revenue = stats.mean_difference(*(stats.Sample.of_sums(g.members, float(g.revenue), g.revenue_squares)
                                      for g in (e, c)))
    rows = [
        (_("members"), formatted(e.members, "count"), formatted(c.members, "count"), ""),
        (_("converted (bought in the period)"), formatted(e.converted, "count"), formatted(c.converted, "count"), ""),
        (_("conversion"), formatted(e.conversion, "share"), formatted(c.conversion, "share"), conversion),
        (_("revenue per member"), formatted(e.per_member(e.revenue), "money"),
         formatted(c.per_member(c.revenue), "money"),
         "" if revenue is None else _money(revenue.difference) + _between(revenue.low, revenue.high, _money)),
        *[(label, _points(e.per_member(getattr(e, name))), _points(c.per_member(getattr(c, name))),
           _difference(e, c, name)) for name, label in (
            ("accrued", _("points accrued per member")), ("spent", _("points spent per member")),
            ("burned", _("points burned per member")))],
    ]
    return Section(found, rows, *sample_check(e.members, e.converted, c.members, c.converted, effect))


def uplift_shown(uplift: stats.ProportionUplift | None) -> str:
    """A difference of conversion as shown: in percentage points with its interval, and relative."""
    if uplift is None:
        return ""
    relative = "" if uplift.relative is None else _("; relative %(value)s") % {
        "value": formatted(uplift.relative, "share")}
    return _pp(uplift.difference) + _between(uplift.low, uplift.high, _pp) + relative


def sample_check(exposed: int, exposed_converted: int, control: int, control_converted: int,
                 effect: Decimal) -> tuple[str, str | None, bool | None]:
    """The smallest difference of conversion two groups detect (as shown), the members each group needs to detect
    `effect` percentage points (as shown; None when it cannot be told) and whether they are that many."""
    # Judged at the conversion of both groups together: steadier than the smaller group's alone, and known even
    # when none (or all) of the held-out members bought.
    both = Group(members=exposed + control, converted=exposed_converted + control_converted)
    baseline = both.conversion
    detectable = stats.detectable_effect(baseline, exposed, control) if baseline is not None else None
    wanted = float(effect) / 100
    needed = enough = None
    if baseline is not None and 0 < baseline < 1 and 0 < baseline + wanted < 1:
        needed = formatted(stats.sample_size(baseline, wanted), "count")
        enough = detectable is not None and detectable <= wanted
    return ("—" if detectable is None else _pp(detectable).lstrip("+")), needed, enough


def _difference(e: Group, c: Group, name: str) -> str:
    exposed, held = e.per_member(getattr(e, name)), c.per_member(getattr(c, name))
    if exposed is None or held is None:
        return ""
    return ("+" if exposed > held else "") + _points(exposed - held)
