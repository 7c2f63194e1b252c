"""The language message templates are written in: Django's template language cut down to what a message needs.

Tags: if / elif / else, for / empty, with, firstof, now, comment, spaceless, cycle — nothing that reads files,
loads libraries or reaches the request (no include, extends, load, url, csrf_token, debug). Filters: Django's
default ones and two of ours, `points` (whole points with the language's grouping: «1 000») and `money` (roubles
with kopecks: «1 000,50 ₽»). Output is plain text: nothing is escaped (an e-mail here is text, an SMS too).
"""

from decimal import Decimal

from django.template import Library, defaultfilters, defaulttags
from django.utils.formats import number_format

register = Library()

for name in ("if", "for", "with", "firstof", "now", "comment", "spaceless", "cycle"):
    register.tag(name, defaulttags.register.tags[name])
for name, function in defaultfilters.register.filters.items():
    register.filter(name, function)


@register.filter
def points(value) -> str:
    """Whole points grouped as the active language groups digits."""
    try:
        return number_format(int(value), use_l10n=True, force_grouping=True)
    except (TypeError, ValueError):
        return ""


@register.filter
def money(value) -> str:
    """Roubles with two decimals, grouped, and the rouble sign."""
    try:
        return number_format(Decimal(value), decimal_pos=2, use_l10n=True, force_grouping=True) + " ₽"
    except (ArithmeticError, TypeError, ValueError):
        return ""
