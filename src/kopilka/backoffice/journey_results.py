"""A journey's results as people read them (`communications.journeys.results`): the exposed vs held-out section a
campaign's results show (`incrementality.section`), one table of the groups — the exposed, each path of each
random split, the held out — with conversion, revenue and points per member and each group's uplift of conversion
over the held out (the paths' intervals Bonferroni-corrected over the paths of their split), and a chart of
conversion by group."""

from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kopilka.analytics.measures import incrementality as stats
from kopilka.analytics.presentation import charts
from kopilka.analytics.presentation.tables import COUNT, MONEY, NUMBER, SHARE, Column, Table
from kopilka.backoffice.incrementality import Section, section, uplift_shown
from kopilka.campaigns.holdout_results import Group
from kopilka.communications.journeys.results import Results

COLUMNS = [
    Column("group", gettext_lazy("group")), Column("members", gettext_lazy("members"), kind=COUNT),
    Column("converted", gettext_lazy("converted"), kind=COUNT),
    Column("conversion", gettext_lazy("conversion"), kind=SHARE),
    Column("revenue", gettext_lazy("revenue"), kind=MONEY),
    Column("revenue_per_member", gettext_lazy("revenue per member"), kind=MONEY),
    Column("accrued_per_member", gettext_lazy("points accrued per member"), kind=NUMBER),
    Column("spent_per_member", gettext_lazy("points spent per member"), kind=NUMBER),
    Column("burned_per_member", gettext_lazy("points burned per member"), kind=NUMBER),
    Column("uplift", gettext_lazy("conversion uplift over the held out"), kind=SHARE),
    Column("uplift_low", gettext_lazy("uplift, lower bound"), kind=SHARE),
    Column("uplift_high", gettext_lazy("uplift, upper bound"), kind=SHARE),
]
SHOWN_COLUMNS = len(COLUMNS) - 3  # the page shows the uplift as text with its interval instead of the last three


@dataclass(frozen=True)
class Shown:
    section: Section
    table: Table
    uplifts: list[str]  # per row of the table, the uplift as shown ("" for the held-out row)
    charts: dict[str, str]


def _per_member(g: Group, total) -> Decimal | None:
    return None if not g.members else (Decimal(total) / g.members).quantize(Decimal("0.01"))


def _row(name: str, g: Group, uplift: stats.ProportionUplift | None) -> list:
    return [name, g.members, g.converted, None if g.conversion is None else round(g.conversion, 4), g.revenue,
            _per_member(g, g.revenue), _per_member(g, g.accrued), _per_member(g, g.spent), _per_member(g, g.burned),
            *((round(uplift.difference, 4), round(uplift.low, 4), round(uplift.high, 4)) if uplift
              else (None, None, None))]


def path_label(title: str, number: int, share: int) -> str:
    return _("%(step)s, path %(number)s (%(share)s %%)") % {"step": title, "number": number, "share": share}


def shown(found: Results, effect: Decimal) -> Shown:
    held = found.held_out
    control = (held.converted, held.members)
    together = stats.proportion_uplift(found.exposed.converted, found.exposed.members, *control)
    rows = [_row(_("went through the journey"), found.exposed, together)]
    uplifts = [uplift_shown(together)]
    for step in dict.fromkeys(path.step for path in found.paths):
        paths = [path for path in found.paths if path.step == step]
        labels = [path_label(path.title, path.number, path.share) for path in paths]
        compared = stats.variants(control, {label: (path.group.converted, path.group.members)
                                            for label, path in zip(labels, paths, strict=True)})
        for label, path in zip(labels, paths, strict=True):
            rows.append(_row(label, path.group, compared[label]))
            uplifts.append(uplift_shown(compared[label]))
    rows.append(_row(_("held out"), held, None))
    uplifts.append("")
    table = Table("journey-groups", gettext_lazy("Journey results by group"), COLUMNS, rows)
    return Shown(section(found, effect), table, uplifts, _charts(table))


def _charts(table: Table) -> dict[str, str]:
    if not any(row[1] for row in table.rows):
        return {}
    return {"conversion": charts.bar_svg([row[0] for row in table.rows],
                                         [round(100 * (row[3] or 0), 2) for row in table.rows],
                                         y_title=_("conversion, %"), title=_("Conversion by group"))}
