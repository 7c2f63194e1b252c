"""The campaign builder's forms and their translation to and from a campaign's rules (`campaigns.rules`).

The condition tree travels as JSON: the page's builder (static/backoffice/builder.js) shows it as nested groups
and rows and writes every change back, so the stored tree is read back exactly; it is validated by the same typed
model the API uses, and the errors come back on the form.
"""

import json

from django import forms
from django.utils.translation import gettext_lazy as _
from pydantic import ValidationError

from kopilka.campaigns.conditions import parse as parse_condition
from kopilka.campaigns.models import Campaign, CampaignType, EventType
from kopilka.campaigns.rules import MAX_HOLDOUT_PERCENT, parse_rules


def _words(text: str) -> list[str]:
    return [w.strip() for w in (text or "").replace(";", ",").split(",") if w.strip()]


class ConditionsForm(forms.Form):
    """Who a campaign is for: the condition tree as JSON, which the page's builder edits as nested groups and rows
    (and a person may edit by hand in its advanced view). Alone, it serves the live counts of eligible members."""

    conditions_json = forms.CharField(label=_("The condition tree as JSON"), required=False,
                                      widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}))

    def clean_conditions_json(self):
        """The tree as stored (a dict), or None for "everybody"; a tree that does not parse is the field's error."""
        text = (self.cleaned_data.get("conditions_json") or "").strip()
        if not text:
            return None
        try:
            tree = json.loads(text)
            if tree is not None:
                parse_condition(tree)
        except (ValueError, TypeError) as error:  # bad JSON and invalid trees alike (pydantic's are ValueErrors)
            problem = _("The conditions are not valid: %(error)s") % {"error": _first(error)}
            raise forms.ValidationError(problem) from error
        return tree


class MomentInput(forms.DateTimeInput):
    """A browser's date-and-time input: it takes only `YYYY-MM-DDTHH:MM:SS` (a value in any other form shows as
    empty), in the programme's time zone, which the back office activates for each request."""

    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__({"step": "1", **(attrs or {})}, format="%Y-%m-%dT%H:%M:%S")


class CampaignForm(ConditionsForm):
    code = forms.SlugField(label=_("Code"), max_length=60)
    name = forms.CharField(label=_("Internal name"), max_length=200)
    public_name = forms.CharField(label=_("Name shown to members"), max_length=200, required=False)
    type = forms.ChoiceField(label=_("Type"))
    starts_at = forms.DateTimeField(label=_("Starts"), widget=MomentInput)
    ends_at = forms.DateTimeField(label=_("Ends"), required=False, widget=MomentInput)
    priority = forms.IntegerField(label=_("Priority (higher first)"), initial=100)
    combination = forms.ChoiceField(label=_("With other campaigns"), choices=Campaign.Combination.choices)
    budget_points = forms.IntegerField(label=_("Budget, points"), required=False, min_value=1)
    holdout_percent = forms.DecimalField(
        label=_("Control group, percent of the eligible members"), required=False, initial=0, min_value=0,
        max_value=MAX_HOLDOUT_PERCENT, max_digits=4, decimal_places=2,
        help_text=_("Held out of this promo campaign, the same members for its whole life, to measure what it "
                    "changed."))

    reward = forms.ChoiceField(label=_("Reward"), choices=[("percent", _("percent of the purchase")),
                                                          ("fixed", _("fixed points"))])
    percent = forms.DecimalField(label=_("Percent"), required=False, max_digits=5, decimal_places=2)
    points = forms.IntegerField(label=_("Points"), required=False, min_value=1)
    roubles_per_point = forms.DecimalField(label=_("1 point = ₽"), initial=1, max_digits=10, decimal_places=2)
    multiplier = forms.DecimalField(label=_("Multiplier"), initial=1, max_digits=5, decimal_places=2)
    include_groups = forms.CharField(label=_("Only product groups (codes, comma-separated)"), required=False)
    exclude_groups = forms.CharField(label=_("Except product groups"), required=False)
    min_order = forms.DecimalField(label=_("Minimum order, ₽"), initial=0, max_digits=14, decimal_places=2)
    scenario = forms.ChoiceField(label=_("Accrue"), choices=[("payment", _("on payment")),
                                                            ("shipment", _("on shipment")), ("event", _("on event"))])
    event_types = forms.MultipleChoiceField(label=_("Events"), required=False,
                                            widget=forms.CheckboxSelectMultiple)
    pending_days = forms.IntegerField(label=_("Pending, days"), initial=0, min_value=0, max_value=365)

    spend_groups = forms.CharField(label=_("Points pay only for product groups"), required=False)
    coefficient = forms.DecimalField(label=_("1 point pays ₽"), initial=1, max_digits=5, decimal_places=2)
    line_cap_percent = forms.DecimalField(label=_("At most, percent of a line"), required=False, max_digits=5,
                                          decimal_places=2)
    receipt_cap_percent = forms.DecimalField(label=_("At most, percent of the receipt"), required=False, max_digits=5,
                                             decimal_places=2)

    expiry_kind = forms.ChoiceField(label=_("Points burn"), choices=[
        ("days", _("after N days")), ("end_of_month", _("at the end of a month")), ("fixed_date", _("on a date"))])
    expiry_days = forms.IntegerField(label=_("Days"), required=False, initial=365, min_value=1)
    expiry_months = forms.IntegerField(label=_("Months after the accrual's month"), required=False, initial=0,
                                       min_value=0)
    expiry_date = forms.DateField(label=_("Date"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, editing: bool = False, base_rules: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.base_rules = base_rules or {}
        self.fields["type"].choices = list(CampaignType.objects.values_list("code", "name"))
        self.fields["event_types"].choices = list(EventType.objects.filter(is_active=True).values_list("code", "name"))
        if editing:
            self.fields["code"].disabled = True

    def clean_starts_at(self):
        return self._stored_unless_changed("starts_at")

    def clean_ends_at(self):
        return self._stored_unless_changed("ends_at")

    def _stored_unless_changed(self, name: str):
        """The stored moment when the input came back as it was shown (to the second: the input shows no fraction),
        so a save that did not touch it changes nothing."""
        value, stored = self.cleaned_data.get(name), self.initial.get(name)
        if value is not None and stored is not None and value == stored.replace(microsecond=0):
            return stored
        return value

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            data["conditions"] = data.get("conditions_json")
            data["rules"] = parse_rules(rules_of(data, self.base_rules)).model_dump(mode="json")
        except (ValueError, ValidationError) as error:
            raise forms.ValidationError(_("The rules are not valid: %(error)s") % {"error": _first(error)}) from error
        return data


def _first(error: Exception) -> str:
    if isinstance(error, ValidationError):
        problem = error.errors()[0]
        return f"{'.'.join(str(p) for p in problem['loc'])}: {problem['msg']}"
    return str(error)


def rules_of(data: dict, base: dict | None = None) -> dict:
    """The rules the form describes. What `base` (the rules being edited) holds that the form does not show — the
    percents by tier, a member's limit — is kept."""
    accrual = {
        "reward": data["reward"], "percent": data.get("percent"), "points": data.get("points"),
        "roubles_per_point": data.get("roubles_per_point") or 1, "multiplier": data.get("multiplier") or 1,
        "include_groups": _words(data.get("include_groups")), "exclude_groups": _words(data.get("exclude_groups")),
        "min_order": data.get("min_order") or 0, "scenario": data["scenario"],
        "event_types": list(data.get("event_types") or []), "pending_days": data.get("pending_days") or 0,
    }
    expiry = {"kind": data["expiry_kind"]}
    if data["expiry_kind"] == "days":
        expiry["days"] = data.get("expiry_days")
    elif data["expiry_kind"] == "end_of_month":
        expiry["months"] = data.get("expiry_months") or 0
    else:
        expiry["date"] = data.get("expiry_date")
    kept = {k: v for k, v in ((base or {}).get("accrual") or {}).items() if k not in accrual}
    return {
        "conditions": data.get("conditions"),
        "holdout_percent": data.get("holdout_percent") or 0,
        "accrual": {**kept, **{k: v for k, v in accrual.items() if v is not None}},
        "redemption": {k: v for k, v in {
            "groups": _words(data.get("spend_groups")), "coefficient": data.get("coefficient") or 1,
            "line_cap_percent": data.get("line_cap_percent"),
            "receipt_cap_percent": data.get("receipt_cap_percent")}.items() if v is not None},
        "expiry": expiry,
    }


def initial_of(campaign: Campaign, rules: dict) -> dict:
    """The form's initial values for a campaign and its newest rules."""
    accrual = rules.get("accrual") or {}
    redemption = rules.get("redemption") or {}
    expiry = rules.get("expiry") or {}
    initial = {
        "code": campaign.code, "name": campaign.name, "public_name": campaign.public_name,
        "type": campaign.type.code, "starts_at": campaign.starts_at, "ends_at": campaign.ends_at,
        "priority": campaign.priority, "combination": campaign.combination, "budget_points": campaign.budget_points,
        "reward": accrual.get("reward", "percent"), "percent": accrual.get("percent"), "points": accrual.get("points"),
        "roubles_per_point": accrual.get("roubles_per_point", 1), "multiplier": accrual.get("multiplier", 1),
        "include_groups": ", ".join(accrual.get("include_groups", [])),
        "exclude_groups": ", ".join(accrual.get("exclude_groups", [])), "min_order": accrual.get("min_order", 0),
        "scenario": accrual.get("scenario", "payment"), "event_types": accrual.get("event_types", []),
        "pending_days": accrual.get("pending_days", 0), "spend_groups": ", ".join(redemption.get("groups", [])),
        "coefficient": redemption.get("coefficient", 1), "line_cap_percent": redemption.get("line_cap_percent"),
        "receipt_cap_percent": redemption.get("receipt_cap_percent"),
        "holdout_percent": rules.get("holdout_percent", 0), "expiry_kind": expiry.get("kind", "days"),
        "expiry_days": expiry.get("days"), "expiry_months": expiry.get("months"), "expiry_date": expiry.get("date"),
    }
    tree = rules.get("conditions")
    initial["conditions_json"] = "" if tree is None else json.dumps(tree, ensure_ascii=False)
    return initial
