"""Journeys shipped ready to use, each made in one step with its message templates (SPEC §8.2).

"anna" — Anna has not bought for three months: she is told when and how many of her bonuses burn, three days
later the journey looks whether she ordered since; if she did, she is offered what goes with her purchase and
reminded what her bonuses buy, if not, she is reminded once more with another offer. A member enters once per
quiet spell (re-entry: after a new purchase and three more quiet months).
"""

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy

from kopilka.communications.journeys.models import Journey
from kopilka.communications.journeys.services import create_journey
from kopilka.communications.message_templates import save_template
from kopilka.communications.models import MessageTemplate


@dataclass(frozen=True)
class Blueprint:
    name: Any  # lazy text
    trigger: dict
    graph: dict
    reentry: bool
    templates: dict[str, dict]  # code → template fields


ANNA = Blueprint(
    name=gettext_lazy("Bonuses about to burn"),
    trigger={"kind": "inactivity", "days": 90},
    reentry=True,
    graph={"start": "remind", "steps": {
        "remind": {"kind": "send", "template": "journey-burning", "offers": [], "next": "wait"},
        "wait": {"kind": "wait", "days": 3, "hours": 0, "next": "ordered"},
        "ordered": {"kind": "branch", "condition": {"kind": "ordered_since_entry"},
                    "yes": "offer", "no": "remind-again"},
        "offer": {"kind": "send", "template": "journey-spend-and-offer", "offers": [], "next": None},
        "remind-again": {"kind": "send", "template": "journey-another-offer", "offers": [],
                         "next": None},
    }},
    templates={
        "journey-burning": {
            "name": "Бонусы скоро сгорят", "channel": "email", "purpose": "marketing",
            "subject_ru": "{{ burning.date|date:'d.m' }} сгорят {{ burning.points|points }} бонусов",
            "body_ru": "{{ member.name }}, напоминаем: {{ burning.date|date:'d.m' }} сгорят "
                       "{{ burning.points|points }} бонусов. Потратьте их на следующую покупку.",
            "subject_en": "{{ burning.points|points }} bonuses burn on {{ burning.date|date:'d.m' }}",
            "body_en": "{{ member.name }}, a reminder: on {{ burning.date|date:'d.m' }}, {{ burning.points|points }} "
                       "of your bonuses burn. Spend them on your next purchase.",
        },
        "journey-spend-and-offer": {
            "name": "Спасибо за заказ: подборка", "channel": "email", "purpose": "marketing",
            "subject_ru": "Подборка к вашей покупке",
            "body_ru": "{{ member.name }}, спасибо за заказ! У вас {{ balance.available|points }} бонусов — "
                       "ими можно оплатить часть следующей покупки.{% for offer in offers %}\n— {{ offer.name }}, "
                       "{{ offer.price|money }}{% endfor %}",
            "subject_en": "A selection to go with your purchase",
            "body_en": "{{ member.name }}, thank you for your order! You have {{ balance.available|points }} "
                       "bonuses to pay part of your next purchase with.{% for offer in offers %}\n— {{ offer.name }}, "
                       "{{ offer.price|money }}{% endfor %}",
        },
        "journey-another-offer": {
            "name": "Бонусы сгорят: ещё одно предложение", "channel": "email", "purpose": "marketing",
            "subject_ru": "Успейте потратить {{ burning.points|points }} бонусов",
            "body_ru": "{{ member.name }}, {{ burning.date|date:'d.m' }} сгорят {{ burning.points|points }} бонусов. "
                       "Загляните к нам: для вас есть новое предложение.{% for offer in offers %}\n— "
                       "{{ offer.name }}, {{ offer.price|money }}{% endfor %}",
            "subject_en": "Spend your {{ burning.points|points }} bonuses in time",
            "body_en": "{{ member.name }}, on {{ burning.date|date:'d.m' }}, {{ burning.points|points }} bonuses burn. "
                       "Come and see us: there is a new offer for you.{% for offer in offers %}\n— "
                       "{{ offer.name }}, {{ offer.price|money }}{% endfor %}",
        },
    },
)

BLUEPRINTS = {"anna": ANNA}


def create_from_blueprint(blueprint_code: str, *, code: str, name: str = "", user=None,
                          actor: str | None = None) -> Journey:
    """A draft journey made from the blueprint, with its message templates (those of the same code that exist
    already are used as they are)."""
    blueprint = BLUEPRINTS[blueprint_code]
    with transaction.atomic():
        for template_code, fields in blueprint.templates.items():
            if not MessageTemplate.objects.filter(code=template_code).exists():
                save_template(code=template_code, user=user, actor=actor, **fields)
        return create_journey(code=code, name=name or str(blueprint.name), trigger=blueprint.trigger,
                              graph=blueprint.graph, reentry=blueprint.reentry, user=user, actor=actor)
