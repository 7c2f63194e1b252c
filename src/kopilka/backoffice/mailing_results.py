"""A mailing's results as people read them (`communications.mailings.results`): one table of the groups — each
variant, the variants together and the held-out members — with what was sent, opened, clicked and bought, and
each variant's uplift of conversion over the held-out members with its interval (Bonferroni-corrected over the
variants, `analytics.measures.incrementality.variants`); whether the groups are big enough for the effect asked
(`incrementality.sample_check`); and two charts: conversion by group, and each variant's path from sent to bought."""

from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kopilka.analytics.measures import incrementality as stats
from kopilka.analytics.presentation import charts
from kopilka.analytics.presentation.tables import COUNT, MONEY, SHARE, Column, Table
from kopilka.backoffice.incrementality import sample_check, uplift_shown
from kopilka.communications.mailings.results import Group, Results

COLUMNS = [
    Column("group", gettext_lazy("group")), Column("template", gettext_lazy("template")),
    Column("members", gettext_lazy("members"), kind=COUNT), Column("sent", gettext_lazy("sent"), kind=COUNT),
    Column("delivered", gettext_lazy("delivered"), kind=COUNT), Column("failed", gettext_lazy("failed"), kind=COUNT),
    Column("skipped", gettext_lazy("skipped"), kind=COUNT), Column("queued", gettext_lazy("queued"), kind=COUNT),
    Column("opened", gettext_lazy("opened"), kind=COUNT), Column("open_rate", gettext_lazy("opened of sent"),
                                                                  kind=SHARE),
    Column("clicked", gettext_lazy("clicked"), kind=COUNT), Column("click_rate", gettext_lazy("clicked of sent"),
                                                                    kind=SHARE),
    Column("converted", gettext_lazy("converted"), kind=COUNT),
    Column("conversion", gettext_lazy("conversion"), kind=SHARE),
    Column("revenue", gettext_lazy("revenue"), kind=MONEY),
    Column("revenue_per_member", gettext_lazy("revenue per member"), kind=MONEY),
    Column("uplift", gettext_lazy("conversion uplift over the held out"), kind=SHARE),
    Column("uplift_low", gettext_lazy("uplift, lower bound"), kind=SHARE),
    Column("uplift_high", gettext_lazy("uplift, upper bound"), kind=SHARE),
]


@dataclass(frozen=True)
class Shown:
    table: Table
    uplifts: list[str]  # per row of the table: the uplift as shown ("" for the held-out row)
    detectable: str
    needed: str | None
    enough: bool | None


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _row(name: str, template: str, g: Group, uplift: stats.ProportionUplift | None) -> list:
    per_member = (g.revenue / g.members).quantize(Decimal("0.01")) if g.members else None
    return [name, template, g.members, g.sent, g.delivered, g.failed, g.skipped, g.queued, g.opened,
            _rate(g.opened, g.sent), g.clicked, _rate(g.clicked, g.sent), g.converted, _rate(g.converted, g.members),
            g.revenue, per_member, *((round(uplift.difference, 4), round(uplift.low, 4), round(uplift.high, 4))
                                     if uplift else (None, None, None))]


def shown(found: Results, templates: list[str], effect: Decimal) -> Shown:
    """The groups' table (variants labelled A, B … with their template codes), the uplifts as shown, and the
    sample check of the variants together against the held-out members at `effect` percentage points."""
    control = found.held_out
    labels = [chr(ord("A") + g.group) for g in found.variants]
    by_variant = stats.variants((control.converted, control.members),
                                {label: (g.converted, g.members) for label, g in zip(labels, found.variants,
                                                                                     strict=True)})
    exposed = found.exposed
    together = stats.proportion_uplift(exposed.converted, exposed.members, control.converted, control.members)
    rows = [_row(_("variant %(label)s") % {"label": label}, template, g, by_variant[label])
            for label, template, g in zip(labels, templates, found.variants, strict=True)]
    uplifts = [uplift_shown(by_variant[label]) for label in labels]
    if len(found.variants) > 1:
        rows.append(_row(_("all variants"), "", exposed, together))
        uplifts.append(uplift_shown(together))
    rows.append(_row(_("held out"), "", control, None))
    uplifts.append("")
    table = Table("mailing-groups", gettext_lazy("Mailing results by group"), COLUMNS, rows)
    return Shown(table, uplifts, *sample_check(exposed.members, exposed.converted, control.members,
                                               control.converted, effect))


def chart_svgs(found: Results) -> dict[str, str]:
    """Conversion by group (percent), and each variant's sent, opened, clicked and converted per 100 members."""
    groups = [*found.variants, found.held_out]
    names = [chr(ord("A") + g.group) for g in found.variants] + [_("held out")]
    if not any(g.members for g in groups):
        return {}
    steps = [_("sent"), _("opened"), _("clicked"), _("converted")]
    return {
        "conversion": charts.bar_svg(names, [round(100 * (g.conversion or 0), 2) for g in groups],
                                     y_title=_("conversion, %"), title=_("Conversion by group")),
        "path": charts.line_svg(steps, [(name, [round(100 * (g.share(n) or 0), 2) for n in (
            g.sent, g.opened, g.clicked, g.converted)]) for name, g in zip(names, found.variants, strict=False)],
            y_title=_("per 100 members"), title=_("From sent to bought, per 100 members of each variant")),
    }
