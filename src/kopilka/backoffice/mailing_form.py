"""The mailing's forms: the draft (who — the campaign builder's conditions tree —, held-out share, rate, attribution
window, and up to four A/B variants as template and share) and the moment to schedule it for."""

import json
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from kopilka.backoffice.campaign_form import ConditionsForm, MomentInput
from kopilka.backoffice.views.campaign_results import ResultsForm
from kopilka.communications.mailings import services as mailings
from kopilka.communications.mailings.models import MAX_HOLDOUT_PERCENT, Mailing
from kopilka.communications.models import MessageTemplate

LABELS = "ABCD"


class MailingForm(ConditionsForm):
    name = forms.CharField(label=_("Name"), max_length=200)
    channel = forms.ChoiceField(label=_("Channel"), choices=Mailing.Channel.choices)
    holdout_percent = forms.DecimalField(
        label=_("Control group, percent of the segment"), initial=Decimal(10), min_value=0,
        max_value=MAX_HOLDOUT_PERCENT, max_digits=4, decimal_places=2,
        help_text=_("Held out of this mailing by a stable hash, to measure what it changed. The programme's "
                    "control group is left out as well."))
    rate_per_minute = forms.IntegerField(label=_("At most, messages per minute"), min_value=1, required=False,
                                         help_text=_("Empty: as fast as the outbox sends."))
    attribution_days = forms.IntegerField(
        label=_("Attribution window, days"), min_value=1, max_value=90, initial=7,
        help_text=_("A purchase within this many days from the start is a conversion."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "—"), *((t.code, f"{t.code} — {t.name} ({t.get_channel_display()})")
                                for t in MessageTemplate.objects.filter(purpose=MessageTemplate.Purpose.MARKETING))]
        for position, label in enumerate(LABELS):
            self.fields[f"template_{position}"] = forms.ChoiceField(
                label=_("Variant %(label)s: template") % {"label": label}, choices=choices, required=position == 0)
            self.fields[f"share_{position}"] = forms.IntegerField(
                label=_("Variant %(label)s: share, percent") % {"label": label}, min_value=1, max_value=100,
                required=position == 0, initial=100 if position == 0 else None)

    def variants(self) -> list[mailings.Variant]:
        data = self.cleaned_data
        return [mailings.Variant(data[f"template_{p}"], data.get(f"share_{p}") or 0)
                for p in range(len(LABELS)) if data.get(f"template_{p}")]

    def fields_of_mailing(self) -> dict:
        data = self.cleaned_data
        return {"name": data["name"], "channel": data["channel"], "conditions": data["conditions_json"],
                "holdout_percent": data["holdout_percent"], "rate_per_minute": data.get("rate_per_minute"),
                "attribution_days": data["attribution_days"]}


def initial_of(mailing: Mailing) -> dict:
    initial = {"name": mailing.name, "channel": mailing.channel, "holdout_percent": mailing.holdout_percent,
               "rate_per_minute": mailing.rate_per_minute, "attribution_days": mailing.attribution_days,
               "conditions_json": "" if mailing.conditions is None else json.dumps(mailing.conditions,
                                                                                   ensure_ascii=False)}
    for variant in mailing.variants.select_related("template"):
        initial[f"template_{variant.position}"] = variant.template.code
        initial[f"share_{variant.position}"] = variant.share
    return initial


class EffectForm(forms.Form):
    """The effect on conversion a mailing's control group should be able to detect, as a campaign's results ask."""

    effect = ResultsForm.base_fields["effect"]


class ScheduleForm(forms.Form):
    send_at = forms.DateTimeField(label=_("Send at"), widget=MomentInput)
