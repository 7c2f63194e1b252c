"""The parameters of each kind of snapshot, as forms: the back office renders them, the API validates with them,
and both store the cleaned values as plain JSON (dates in ISO form, filters as codes, empty filters left out)."""

from datetime import date, timedelta
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from kopilka.core import clock
from kopilka.core.errors import ValidationFailed
from kopilka.customers.models import Member

GRIDS = [("3x3x3", _("3×3×3 (terciles)")), ("4x4x4", _("4×4×4 (quartiles)")), ("5x5x5", _("5×5×5 (quintiles)"))]


def _today() -> date:
    return clock.local_date(clock.now())


class FiltersForm(forms.Form):
    """Member filters (analytics.data.scope): codes, all optional."""

    region = forms.ChoiceField(label=_("Region"), required=False)
    kind = forms.ChoiceField(label=_("Member kind"), required=False,
                             choices=[("", _("all"))] + list(Member.Kind.choices))
    tier = forms.ChoiceField(label=_("Tier"), required=False)
    source = forms.ChoiceField(label=_("Registration source"), required=False)
    campaign = forms.ChoiceField(label=_("Campaign"), required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        from kopilka.campaigns.models import Campaign
        from kopilka.customers.models import Region
        from kopilka.tiers.models import Tier

        everyone = [("", _("all"))]
        self.fields["region"].choices = everyone + list(Region.objects.order_by("name").values_list("code", "name"))
        self.fields["tier"].choices = everyone + list(Tier.objects.order_by("rank").values_list("code", "name"))
        sources = (Member.objects.exclude(registration_source="").order_by("registration_source")
                   .values_list("registration_source", flat=True).distinct())
        self.fields["source"].choices = everyone + [(s, s) for s in sources]
        self.fields["campaign"].choices = everyone + list(Campaign.objects.order_by("name").values_list("code", "name"))


class PeriodForm(FiltersForm):
    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    field_order = ["start", "end"]

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise forms.ValidationError(_("The period starts after it ends."))
        return data

    @classmethod
    def initial_for(cls, today: date) -> dict:
        end = today - timedelta(days=1)
        return {"start": end - timedelta(days=29), "end": end}


class CutsForm(PeriodForm):
    measure = forms.ChoiceField(label=_("What"), choices=[("points", _("points")), ("sales", _("sales"))],
                                initial="points")
    by = forms.ChoiceField(label=_("By"), choices=[("day", _("day")), ("week", _("week")), ("month", _("month"))],
                           initial="month")
    segment = forms.ChoiceField(label=_("Segment"), initial="none", choices=[
        ("none", _("all together")), ("membership", _("members and non-members")), ("region", _("region")),
        ("kind", _("member kind")), ("tier", _("tier")), ("source", _("registration source")),
        ("campaign", _("campaign")), ("group", _("product group"))])
    field_order = ["start", "end", "measure", "by", "segment"]

    def clean(self):
        from kopilka.analytics.measures.cuts import POINT_SEGMENTS, SALES_SEGMENTS

        data = super().clean()
        allowed = POINT_SEGMENTS if data.get("measure") == "points" else SALES_SEGMENTS
        if data.get("segment") and data["segment"] not in allowed:
            self.add_error("segment", _("This segment does not apply to what is measured."))
        return data

    @classmethod
    def initial_for(cls, today: date) -> dict:
        end = today - timedelta(days=1)
        return {"start": end.replace(day=1) - timedelta(days=365), "end": end, "measure": "points", "by": "month",
                "segment": "none"}


class CohortsForm(PeriodForm):
    by = forms.ChoiceField(label=_("By"), choices=[("month", _("month")), ("week", _("week"))], initial="month")
    basis = forms.ChoiceField(label=_("Cohort by"), initial="purchase", choices=[
        ("purchase", _("first purchase")), ("registration", _("registration"))])
    field_order = ["start", "end", "by", "basis"]

    @classmethod
    def initial_for(cls, today: date) -> dict:
        end = today - timedelta(days=1)
        return {"start": (end.replace(day=1) - timedelta(days=335)).replace(day=1), "end": end, "by": "month",
                "basis": "purchase"}


class AbcForm(PeriodForm):
    a = forms.DecimalField(label=_("Class A, share of revenue, %"), min_value=0, max_value=100, initial=80,
                           decimal_places=2)
    b = forms.DecimalField(label=_("Class B, share of revenue, %"), min_value=0, max_value=100, initial=15,
                           decimal_places=2)
    goods = forms.ChoiceField(label=_("Goods by"), initial="sku", choices=[("sku", _("SKU")),
                                                                           ("group", _("product group"))])
    field_order = ["start", "end", "a", "b", "goods"]

    def clean(self):
        data = super().clean()
        if data.get("a") is not None and data.get("b") is not None and (data["a"] <= 0 or data["a"] + data["b"] > 100):
            raise forms.ValidationError(_("Class A takes more than 0 % and class B at least 0 % of the revenue, "
                                          "together at most 100 %."))
        return data

    @classmethod
    def initial_for(cls, today: date) -> dict:
        return {**PeriodForm.initial_for(today), "a": 80, "b": 15, "goods": "sku"}


class LeversForm(PeriodForm):
    target = forms.DecimalField(label=_("Revenue growth, %"), initial=20, min_value=-99, max_value=1000,
                                decimal_places=2)
    field_order = ["start", "end", "target"]

    @classmethod
    def initial_for(cls, today: date) -> dict:
        return {**PeriodForm.initial_for(today), "target": 20}


class RfmForm(FiltersForm):
    as_of = forms.DateField(label=_("As of"), widget=forms.DateInput(attrs={"type": "date"}))
    grid = forms.ChoiceField(label=_("Grid"), choices=GRIDS, initial="3x3x3")
    field_order = ["as_of", "grid"]

    @classmethod
    def initial_for(cls, today: date) -> dict:
        return {"as_of": today - timedelta(days=1), "grid": "3x3x3"}


class ClustersForm(forms.Form):
    as_of = forms.DateField(label=_("As of"), widget=forms.DateInput(attrs={"type": "date"}))
    k_min = forms.IntegerField(label=_("Fewest clusters"), min_value=2, max_value=20, initial=2)
    k_max = forms.IntegerField(label=_("Most clusters"), min_value=2, max_value=20, initial=8)

    def clean(self):
        data = super().clean()
        if data.get("k_min") and data.get("k_max") and data["k_min"] > data["k_max"]:
            raise forms.ValidationError(_("The fewest clusters must not exceed the most."))
        return data

    @classmethod
    def initial_for(cls, today: date) -> dict:
        return {"as_of": today - timedelta(days=1), "k_min": 2, "k_max": 8}


class ClvForm(forms.Form):
    as_of = forms.DateField(label=_("As of"), widget=forms.DateInput(attrs={"type": "date"}))
    unit = forms.ChoiceField(label=_("Unit of time"), choices=[("day", _("day")), ("week", _("week")),
                                                               ("month", _("month (30 days)"))], initial="week")
    horizon = forms.IntegerField(label=_("Horizon, units"), min_value=1, max_value=3650, initial=52)

    @classmethod
    def initial_for(cls, today: date) -> dict:
        return {"as_of": today - timedelta(days=1), "unit": "week", "horizon": 52}


FORMS: dict[str, type[forms.Form]] = {"dashboard": PeriodForm, "cuts": CutsForm, "rfm": RfmForm,
                                      "clusters": ClustersForm, "clv": ClvForm, "cohorts": CohortsForm, "abc": AbcForm,
                                      "levers": LeversForm}


def form_for(kind: str, data=None) -> forms.Form:
    form_class = FORMS[kind]
    return form_class(data, initial=form_class.initial_for(_today()))


def defaults(kind: str, today: date) -> dict:
    """The parameters a page of `kind` opens with on `today` (the nightly run computes exactly these)."""
    form = FORMS[kind]({name: value.isoformat() if hasattr(value, "isoformat") else value
                        for name, value in FORMS[kind].initial_for(today).items()})
    if not form.is_valid():
        raise ValueError(form.errors)
    return as_params(form)


def as_params(form: forms.Form) -> dict:
    """A valid form's values as snapshot parameters."""
    return {name: value.isoformat() if hasattr(value, "isoformat") else str(value) if isinstance(value, Decimal)
            else value for name, value in form.cleaned_data.items() if value not in ("", None)}


def clean(kind: str, data: dict) -> dict:
    """Validate `data` for `kind` as the back office would; refuse with every field's errors."""
    if kind not in FORMS:
        raise ValidationFailed(_("Unknown analytics: %(kind)s.") % {"kind": kind}, code="unknown_analytics",
                               details={"allowed": list(FORMS)})
    form = FORMS[kind]({name: value for name, value in data.items() if value is not None})
    if not form.is_valid():
        raise ValidationFailed(code="invalid_parameters", details={
            "errors": {field: [str(e) for e in errors] for field, errors in form.errors.items()}})
    return as_params(form)
