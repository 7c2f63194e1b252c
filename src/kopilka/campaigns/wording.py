"""The engine's words in the reader's language: its messages, money and numbers, looked up once per language.

A message, a number format or a number's text depends only on the language (the catalogues and formats do not
change while the process runs), so each is looked up the first time a language asks for it and kept: a cart's
dozen decisions ask for the same few messages again and again.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from django.utils.formats import get_format, number_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _

KOPECK = Decimal("0.01")


@dataclass(frozen=True)
class Wording:
    """The engine's messages in one language, with its money and number formats."""

    language: str | None
    no_line: str
    min_order: str
    percent_of: str
    points_for_purchase: str
    tier_percent: str
    multiplied: str
    points_for_event: str
    excluded_by: str
    exclusive: str
    not_qualified: str
    control_group: str
    held_out: str
    budget: str
    member_limit: str
    cut_to: str
    earns: str
    decimal_sign: str
    thousands: str
    grouping: object

    def money(self, amount: Decimal) -> str:
        """Roubles for people: kopecks rounded half up, grouped digits, the local decimal sign."""
        shown = amount.quantize(KOPECK, rounding=ROUND_HALF_UP)
        if self.grouping != 3:
            return number_format(shown, decimal_pos=2, use_l10n=True, force_grouping=True) + " ₽"
        return f"{shown:,.2f}".translate({ord(","): self.thousands, ord("."): self.decimal_sign}) + " ₽"

    def number(self, value: Decimal) -> str:
        """A percent or a multiplier as the language writes it."""
        return _number(self.language, str(value))


def wording() -> Wording:
    """The engine's words in the active language."""
    return _wording(get_language())


@lru_cache(maxsize=32)
def _wording(language: str | None) -> Wording:
    """Called with `language` active: the catalogue and the formats read are that language's (Django's general
    number formatter costs more than the rest of a decision)."""
    return Wording(
        language=language,
        no_line=_("no line of the purchase takes part"),
        min_order=_("the minimum order of %(min)s is not reached (%(amount)s)"),
        percent_of=_("%(percent)s %% of %(amount)s = %(reward)s at 1 point = %(rate)s"),
        points_for_purchase=_("%(points)s points for the purchase"),
        tier_percent=_("the percent of tier %(tier)s"),
        multiplied=_("multiplied by %(m)s"),
        points_for_event=_("%(points)s points for the event"),
        excluded_by=_("excluded by %(code)s"),
        exclusive=_("exclusive, and another campaign applies"),
        not_qualified=_("the member does not qualify"),
        control_group=_("held out: the member is in the programme's control group this month"),
        held_out=_("held out: the member is in the campaign's control group (%(share)s %%)"),
        budget=_("campaign budget"),
        member_limit=_("member limit"),
        cut_to=_("cut to %(points)s by the %(what)s"),
        earns=_("earns %(points)s"),
        decimal_sign=get_format("DECIMAL_SEPARATOR"),
        thousands=get_format("THOUSAND_SEPARATOR"),
        grouping=get_format("NUMBER_GROUPING"),
    )


@lru_cache(maxsize=256)
def _number(language: str | None, text: str) -> str:
    """`number_format` of the Decimal written `text` (its text, not its value: 5 and 5.0 are written apart), called
    with `language` active."""
    return number_format(Decimal(text), use_l10n=True)
