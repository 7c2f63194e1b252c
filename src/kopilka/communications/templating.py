"""Rendering a message template and telling its author what is wrong with it, in their language.

A template is text in the cut-down language of `template_language`. `problems` parses it and renders it against
`SAMPLE` (every variable a message may use, with made-up values), so a misspelt variable or a broken tag is found
when the template is saved, not when a member's message is built; `render` fills it for a member.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.template import Context, Engine, TemplateSyntaxError
from django.template.base import Template
from django.utils.translation import gettext as _

_MISSING = "\x00missing:%s\x00"


def _engine(**options) -> Engine:
    """An engine whose only tags and filters are those of `template_language` (Django adds its own defaults to
    any engine's: they are replaced)."""
    engine = Engine(loaders=[], autoescape=False, **options)
    engine.builtins = ["kopilka.communications.template_language"]
    engine.template_builtins = engine.get_template_builtins(engine.builtins)
    return engine


_ENGINE = _engine()
_CHECKING = _engine(string_if_invalid=_MISSING)


@dataclass(frozen=True)
class Variable:
    name: str
    meaning: str


def variables() -> list[Variable]:
    """The variables a template may use, for the editor's help (in the active language)."""
    return [
        Variable("member.first_name", _("first name")),
        Variable("member.middle_name", _("middle name")),
        Variable("member.last_name", _("last name")),
        Variable("member.name", _("the name to address the member by")),
        Variable("balance.available", _("points the member can spend now")),
        Variable("balance.total", _("all the member's points")),
        Variable("burning.points", _("points that burn first")),
        Variable("burning.date", _("the last day before they burn")),
        Variable("burning_all", _("every coming burn: a list of (date, points)")),
        Variable("tier.name", _("the member's tier")),
        Variable("next_tier.name", _("the next tier")),
        Variable("next_tier.needed", _("how much more reaches the next tier")),
        Variable("offers", _("offered products: each with sku, name and price")),
        Variable("unsubscribe_url", _("the link that unsubscribes from this channel")),
        Variable("notice.points", _("a notice's points: accrued, spent or about to burn")),
        Variable("notice.date", _("a burn notice's day: the last day to spend the points")),
        Variable("notice.previous_tier", _("a tier notice's tier before the change")),
        Variable("campaign.name", _("a campaign notice's campaign, as members see its name")),
        Variable("campaign.first_day", _("the campaign's first day")),
        Variable("campaign.last_day", _("the campaign's last day")),
    ]


SAMPLE = {
    "member": {"first_name": "Анна", "middle_name": "Сергеевна", "last_name": "Иванова", "name": "Анна"},
    "balance": {"available": 1000, "total": 1200},
    "burning": {"points": 1000, "date": date(2026, 6, 23)},
    "burning_all": [(date(2026, 6, 23), 1000)],
    "tier": {"name": "Silver"},
    "next_tier": {"name": "Gold", "needed": Decimal("15000.00")},
    "offers": [{"sku": "SKU-1", "name": "Крем", "price": Decimal("1500.00")}],
    "unsubscribe_url": "https://example.org/u/token",
    "notice": {"points": 1000, "date": date(2026, 6, 23), "previous_tier": "Bronze"},
    "campaign": {"name": "Весна", "first_day": date(2026, 3, 1), "last_day": date(2026, 3, 31)},
}


def problems(text: str) -> list[str]:
    """What is wrong with a template's text: a syntax error, or variables no message has. Empty when it is fine."""
    try:
        template = Template(text, engine=_CHECKING)
    except TemplateSyntaxError as error:
        return [_("The template cannot be read: %(error)s") % {"error": error}]
    rendered = template.render(Context(SAMPLE, autoescape=False))
    unknown = sorted({part.split("\x00", 1)[0] for part in rendered.split("\x00missing:")[1:]})
    if unknown:
        return [_("Unknown variables: %(names)s. Known: %(known)s.") % {
            "names": ", ".join(unknown), "known": ", ".join(v.name for v in variables())}]
    return []


def render(text: str, context: dict) -> str:
    """The template filled with `context`; a variable missing from it renders empty."""
    return Template(text, engine=_ENGINE).render(Context(context, autoescape=False))
