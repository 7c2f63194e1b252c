"""The form of a mechanic of the monthly plan: its segment is the campaign builder's conditions tree (empty: the
linked campaign's or mailing's, else every member). A journey is offered while live or paused, and the one already
linked always."""

import json

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kopilka.backoffice.campaign_form import ConditionsForm
from kopilka.campaigns.models import Campaign
from kopilka.communications.journeys.models import Journey
from kopilka.communications.mailings.models import Mailing
from kopilka.communications.monthly_plan.models import PlanMechanic
from kopilka.communications.monthly_plan.services import FIELDS


class MechanicForm(ConditionsForm):
    title = forms.CharField(label=_("Mechanic"), max_length=200)
    goal = forms.CharField(label=_("Goal"), widget=forms.Textarea(attrs={"rows": 2}))
    kind = forms.ChoiceField(label=_("Kind"), choices=PlanMechanic.Kind.choices)
    campaign = forms.ModelChoiceField(label=_("Campaign"), queryset=Campaign.objects.order_by("code"),
                                      to_field_name="code", required=False)
    mailing = forms.ModelChoiceField(label=_("Mailing"), queryset=Mailing.objects.all(), required=False)
    journey = forms.ModelChoiceField(label=_("Journey"), queryset=Journey.objects.none(), to_field_name="code",
                                     required=False)
    description = forms.CharField(label=_("How it works"), widget=forms.Textarea(attrs={"rows": 2}), required=False)
    communication = forms.CharField(label=_("Communication"), widget=forms.Textarea(attrs={"rows": 2}),
                                    required=False)
    budget = forms.DecimalField(label=_("Budget, ₽"), min_value=0, max_digits=14, decimal_places=2)
    target_conversion = forms.DecimalField(label=_("Planned conversion, percent"), min_value=0, max_value=100,
                                           max_digits=5, decimal_places=2)
    budget_used_entered = forms.DecimalField(
        label=_("Budget used, ₽"), min_value=0, max_digits=14, decimal_places=2, required=False,
        help_text=_("For a mechanic without a campaign; a campaign's is counted from the points it granted."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        offered = Q(status__in=(Journey.Status.LIVE, Journey.Status.PAUSED))
        if self.initial.get("journey"):
            offered |= Q(code=self.initial["journey"])
        self.fields["journey"].queryset = Journey.objects.filter(offered)

    def fields_of_mechanic(self) -> dict:
        data = self.cleaned_data
        return {**{name: data.get(name) for name in FIELDS if name != "conditions"},
                "conditions": data["conditions_json"], "description": data.get("description") or "",
                "communication": data.get("communication") or ""}


def initial_of(mechanic: PlanMechanic) -> dict:
    initial = {name: getattr(mechanic, name) for name in FIELDS if name not in ("conditions", "campaign", "journey")}
    initial["campaign"] = mechanic.campaign.code if mechanic.campaign else None
    initial["mailing"] = mechanic.mailing_id
    initial["journey"] = mechanic.journey.code if mechanic.journey else None
    initial["conditions_json"] = "" if mechanic.conditions is None else json.dumps(mechanic.conditions,
                                                                                   ensure_ascii=False)
    return initial
