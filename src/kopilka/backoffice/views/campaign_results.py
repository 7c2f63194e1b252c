"""A campaign's results for a period (`campaigns.results`): cards of the totals and the budget, charts of the points
desired and granted and of the revenue by day, and tables in total, by version of the rules and by day, each
downloadable as CSV, XLSX or JSON like the analytics' tables; for a promo campaign, its members exposed against
those it held out (`backoffice.incrementality`); and the results' columns of the list of campaigns.

A period is whole programme days, both ends included. The page opens on the campaign's life so far (its first day to
today, or to its last day when it has ended); the list opens on all time. Either end left empty leaves it open."""

from datetime import timedelta
from decimal import Decimal

from django import forms
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.utils.formats import date_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kopilka.analytics.presentation import charts
from kopilka.analytics.presentation.tables import COUNT, MONEY, SHARE, Column, Table
from kopilka.backoffice import presenters
from kopilka.backoffice.access import requires
from kopilka.backoffice.incrementality import section
from kopilka.backoffice.views.analytics import table_file
from kopilka.campaigns import results as figures
from kopilka.campaigns.holdout_results import compare
from kopilka.campaigns.models import Campaign
from kopilka.core import clock

TABLES = ("results", "results-by-version", "results-by-day")
DEFAULT_EFFECT = Decimal(1)  # percentage points of conversion
FORMATS = ("csv", "xlsx", "json")


def _day_input() -> forms.DateInput:
    """A date picker: its value is always ISO (a browser's date input reads no other form, whatever the language)."""
    return forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})


class PeriodForm(forms.Form):
    start = forms.DateField(label=gettext_lazy("From"), required=False, widget=_day_input())
    end = forms.DateField(label=gettext_lazy("To"), required=False, widget=_day_input())

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise forms.ValidationError(gettext_lazy("The period starts after it ends."))
        return data

    @property
    def period(self) -> figures.Period:
        return figures.Period(self.cleaned_data.get("start"), self.cleaned_data.get("end"))


class ResultsForm(PeriodForm):
    """The page's period, and the effect on conversion its control group should be able to detect."""

    effect = forms.DecimalField(label=gettext_lazy("Effect to detect, percentage points"), required=False,
                                min_value=Decimal("0.01"), max_value=50, max_digits=4, decimal_places=2)

    @property
    def effect_asked(self) -> Decimal:
        return self.cleaned_data.get("effect") or DEFAULT_EFFECT


def life_so_far(campaign: Campaign) -> dict:
    """The campaign's first programme day to today, or to its last day when it has ended."""
    today = clock.local_date(clock.now())
    start = clock.local_date(campaign.starts_at)
    end = today if campaign.ends_at is None else min(today, clock.local_date(campaign.ends_at - timedelta(
        microseconds=1)))
    return {"start": start, "end": max(start, end)}


def _query(period: figures.Period) -> str:
    return urlencode({"start": period.start.isoformat() if period.start else "",
                      "end": period.end.isoformat() if period.end else ""})


def _chosen(request, campaign: Campaign) -> ResultsForm:
    chosen = request.GET if "start" in request.GET or "end" in request.GET else life_so_far(campaign)
    return ResultsForm(chosen)


# --- the tables -------------------------------------------------------------------------------------------------------

_FIGURES = [
    Column("members", gettext_lazy("members who earned"), kind=COUNT),
    Column("grants", gettext_lazy("grants"), kind=COUNT),
    Column("points_desired", gettext_lazy("points desired"), kind=COUNT),
    Column("points_granted", gettext_lazy("points granted"), kind=COUNT),
    Column("points_cut", gettext_lazy("cut by the budget and limits"), kind=COUNT),
    Column("granted_share", gettext_lazy("granted of desired"), kind=SHARE),
    Column("points_spent", gettext_lazy("points spent"), kind=COUNT),
    Column("points_burned", gettext_lazy("points burned"), kind=COUNT),
    Column("points_taken_back", gettext_lazy("points taken back"), kind=COUNT),
    Column("points_outstanding", gettext_lazy("points outstanding"), kind=COUNT),
    Column("receipts", gettext_lazy("receipts that earned"), kind=COUNT),
    Column("revenue", gettext_lazy("revenue of the receipts that earned"), kind=MONEY),
]
_BUDGET = [
    Column("budget", gettext_lazy("budget, points"), kind=COUNT),
    Column("budget_used", gettext_lazy("budget used"), kind=COUNT),
    Column("budget_used_share", gettext_lazy("budget used, share"), kind=SHARE),
    Column("budget_left", gettext_lazy("budget left"), kind=COUNT),
]
_BY_KEY = {column.key: column for column in _FIGURES}
_DAYS = [Column("day", gettext_lazy("day")),
         *(_BY_KEY[key] for key in ("members", "points_desired", "points_granted", "receipts", "revenue"))]


def _share(part: int, whole: int | None) -> float | None:
    return round(part / whole, 4) if whole else None


def _row(f: figures.Figures) -> list:
    return [f.members, f.grants, f.desired, f.granted, f.cut, _share(f.granted, f.desired), f.spent, f.burned,
            f.taken_back, f.outstanding, f.receipts, f.revenue]


def tables(found: figures.Results) -> dict[str, Table]:
    """The results as the page shows them and the downloads write them (raw numbers, the kinds say how to read)."""
    budget = found.budget
    period = [Column("start", gettext_lazy("From")), Column("end", gettext_lazy("To"))]
    total = Table("results", gettext_lazy("Campaign results"), period + _FIGURES + _BUDGET, [
        [found.period.start, found.period.end, *_row(found.total),
         *([budget.points, budget.used, _share(budget.used, budget.points), budget.left] if budget else
           [None] * 4)]])
    versions = Table("results-by-version", gettext_lazy("Results by version of the rules"),
                     [Column("version", gettext_lazy("version")), Column("went_live", gettext_lazy("went live on")),
                      *_FIGURES],
                     [[v.reference, clock.local_date(v.went_live_at) if v.went_live_at else None, *_row(v.figures)]
                      for v in found.versions])
    days = Table("results-by-day", gettext_lazy("Results by day"), _DAYS,
                 [[d.day, d.members, d.desired, d.granted, d.receipts, d.revenue] for d in found.days])
    return {table.name: table for table in (total, versions, days)}


# --- the page ---------------------------------------------------------------------------------------------------------


def _cards(found: figures.Results) -> list[dict]:
    total, budget = found.total, found.budget

    def card(code: str, label: str, value, unit: str, note: str = "") -> dict:
        return {"code": code, "label": label, "shown": presenters.formatted(value, unit), "note": note}

    def points(value) -> str:
        return presenters.formatted(value, "points")

    cards = [
        card("members", _("Members who earned"), total.members, "count",
             _("grants: %(grants)s") % {"grants": points(total.grants)}),
        card("granted", _("Points granted"), total.granted, "points",
             _("desired by the rules: %(desired)s; cut by the budget and the member limits: %(cut)s") % {
                 "desired": points(total.desired), "cut": points(total.cut)}),
        card("budget", _("Budget used"), budget.used if budget else None, "points",
             (_("%(share)s of %(budget)s; left: %(left)s") % {
                 "share": presenters.formatted(_share(budget.used, budget.points), "share"),
                 "budget": points(budget.points), "left": points(budget.left)}) if budget else _("no budget")),
        card("spent", _("Points spent"), total.spent, "points",
             _("%(share)s of those granted") % {"share": presenters.formatted(_share(total.spent, total.granted),
                                                                               "share")}),
        card("burned", _("Points burned"), total.burned, "points", _("expired or burned by hand")),
        card("taken_back", _("Points taken back"), total.taken_back, "points",
             _("by returns of purchases, corrections and settled debts")),
        card("outstanding", _("Points outstanding"), total.outstanding, "points", _("still held by the members")),
        card("receipts", _("Receipts that earned"), total.receipts, "count", _("paid and not returned")),
        card("revenue", _("Revenue of those receipts"), total.revenue, "money"),
    ]
    return cards


def _charts(found: figures.Results) -> dict[str, str]:
    if not found.days:
        return {}
    labels = [f"{d.day:%d.%m}" for d in found.days]
    return {
        "points": charts.line_svg(labels, [(_("points desired"), [d.desired for d in found.days]),
                                           (_("points granted"), [d.granted for d in found.days])],
                                  y_title=_("points"), title=_("Points desired and granted by day")),
        "revenue": charts.line_svg(labels, [(_("revenue"), [d.revenue for d in found.days])],
                                   y_title=_("revenue, ₽"), title=_("Revenue of the receipts that earned, by day")),
    }


def _campaign(code: str) -> Campaign:
    return get_object_or_404(Campaign.objects.select_related("type"), code=code)


@requires("campaigns.view_campaign")
def page(request, code: str):
    campaign = _campaign(code)
    form = _chosen(request, campaign)
    context: dict = {"campaign": campaign, "form": form}
    if form.is_valid():
        found = figures.results(campaign, form.period)
        shown = tables(found)
        context.update(
            found=found, cards=_cards(found), charts=_charts(found), query=_query(form.period),
            tables=[presenters.readable(shown[name]) for name in ("results-by-version", "results-by-day")],
            span=_span(form.period),
        )
        compared = compare(campaign, form.period)
        context["holdout"] = None if compared is None else section(compared, form.effect_asked)
    return render(request, "backoffice/campaign_results.html", context)


def _span(period: figures.Period) -> str:
    if period.start is None and period.end is None:
        return _("all time")
    return " — ".join(date_format(day, "SHORT_DATE_FORMAT") if day else "…" for day in (period.start, period.end))


@requires("campaigns.view_campaign")
def download(request, code: str, table: str, fmt: str):
    campaign = _campaign(code)
    if table not in TABLES or fmt not in FORMATS:
        raise Http404(table)
    form = _chosen(request, campaign)
    if not form.is_valid():
        raise Http404(_("The period is not valid."))
    period = form.period
    span = "-".join(day.strftime("%Y%m%d") if day else "" for day in (period.start, period.end))
    return table_file(tables(figures.results(campaign, period))[table], f"{campaign.code}-{table}-{span}", fmt)


# --- the list of campaigns --------------------------------------------------------------------------------------------


def list_columns(request) -> tuple[PeriodForm, dict[int, dict], str]:
    """The period form of the list (empty: all time), each campaign's results cells as shown, by id, and the
    period's query for the links to the results pages."""
    form = PeriodForm(request.GET)
    if not form.is_valid():
        return form, {}, ""
    shown = {}
    for pk, summary in figures.summaries(form.period).items():
        budget = summary.budget
        shown[pk] = {
            "members": presenters.formatted(summary.members, "count"),
            "granted": presenters.formatted(summary.granted, "points"),
            "desired": presenters.formatted(summary.desired, "points"),
            "budget_used": presenters.formatted(budget.used, "points") if budget else "—",
            "budget_share": presenters.formatted(_share(budget.used, budget.points), "share") if budget else "",
            "budget_left": presenters.formatted(budget.left, "points") if budget else "—",
        }
    return form, shown, _query(form.period)
