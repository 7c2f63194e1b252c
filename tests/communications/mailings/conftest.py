"""A programme with a public address and no quiet hours, members with addresses and consents, and templates."""

import itertools
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from kopilka.communications.mailings import services
from kopilka.communications.mailings.services import Variant
from kopilka.communications.message_templates import save_template
from kopilka.core import programme
from kopilka.core.models import ProgrammeSettings
from kopilka.customers import services as members

PUBLIC = "https://bonus.example.ru"
_numbers = itertools.count(1)


@pytest.fixture
def moments(moments):
    """The test's clock, at noon in Moscow on a Monday (outside the default quiet hours, 21:00-09:00)."""
    moments.now = datetime(2026, 6, 1, 12, 0, 0, 250_000, tzinfo=ZoneInfo("Europe/Moscow"))
    return moments


@pytest.fixture(autouse=True)
def _programme(db):
    ProgrammeSettings.objects.create(pk=ProgrammeSettings.SINGLETON, public_url=PUBLIC, quiet_hours="",
                                     marketing_cap_messages=2, marketing_cap_days=7)
    programme.forget()
    save_template(code="spring-a", actor="t", name="Весна A", channel="email", purpose="marketing",
                  subject_ru="{{ member.name }}, весна!", body_ru="Скидки: https://shop.example.ru/spring?a=1.")
    save_template(code="spring-b", actor="t", name="Весна B", channel="email", purpose="marketing",
                  subject_ru="Весна", body_ru="Каталог https://shop.example.ru/catalog")
    save_template(code="spring-sms", actor="t", name="Весна SMS", channel="sms", purpose="marketing",
                  body_ru="{{ member.name }}, весна!")


def member(name: str = "Анна", *, address: str | None = None, phone: str = "", **consents: bool):
    """A member with an e-mail address (a new one unless given) and the consents given, by channel."""
    made = members.create_member(actor="t", last_name="Иванова", first_name=name, phone=phone,
                                 email=f"member{next(_numbers)}@example.ru" if address is None else address)
    for channel, granted in consents.items():
        members.set_consent(member_id=made.pk, channel=channel, granted=granted, source="form", actor="t")
    return made


def draft(*, variants=(("spring-a", 100),), holdout="0", rate=None, conditions=None, channel="email",
          days=7, name="Весна"):
    return services.save_mailing(actor="t", name=name, channel=channel, conditions=conditions,
                                 holdout_percent=Decimal(holdout), rate_per_minute=rate, attribution_days=days,
                                 variants=[Variant(code, share) for code, share in variants])
