"""Forms of the back office; their errors speak the user's language."""

import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from kopilka.ledger.models import ReasonCode


class MemberSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Phone, e-mail, card, INN or name"), max_length=200, required=False,
        widget=forms.TextInput(attrs={"autofocus": True, "type": "search"}),
    )


class DecisionForm(forms.Form):
    comment = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 2}), required=False,
                              max_length=2000)


class _Operation(forms.Form):
    """What every member operation asks: why (a reason code and a comment), and the form's one-time key."""

    reason_code = forms.ChoiceField(label=_("Reason"))
    comment = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
    key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason_code"].choices = list(
            ReasonCode.objects.filter(is_active=True).values_list("code", "name"))
        if "target" in self.fields:
            self.fields["target"].choices = choices
        if not self.is_bound:
            self.initial.setdefault("key", uuid.uuid4().hex)


class CompensationForm(_Operation):
    points = forms.IntegerField(label=_("Points"), min_value=1, max_value=10_000_000)
    field_order = ["points", "reason_code", "comment"]


class SpendForm(_Operation):
    points = forms.IntegerField(label=_("Points"), min_value=1, max_value=10_000_000)
    field_order = ["points", "reason_code", "comment"]


class BurnForm(_Operation):
    target = forms.TypedChoiceField(label=_("Lot"), coerce=int)
    field_order = ["target", "reason_code", "comment"]


class ReverseForm(_Operation):
    target = forms.TypedChoiceField(label=_("Accrual"), coerce=int)
    points = forms.IntegerField(label=_("Points (empty: all that is left)"), min_value=1, required=False)
    field_order = ["target", "points", "reason_code", "comment"]
