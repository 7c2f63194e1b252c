"""Message templates: the author is told what is wrong before anything is saved, and a template is filled for a real
member with their balance, coming burn, tier and offers, in Russian and in English."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from kopilka.communications import templating
from kopilka.communications.message_templates import compose, save_template
from kopilka.communications.models import MessageTemplate
from kopilka.core.errors import ValidationFailed
from kopilka.core.models import AuditEvent
from kopilka.ledger import services as ledger
from kopilka.tiers import services as tiers
from tests import factories

pytestmark = pytest.mark.django_db

ANNA = ("{{ member.name }}, {{ burning.date|date:'d.m' }} сгорят {{ burning.points|points }} бонусов. "
        "До статуса {{ next_tier.name }} осталось {{ next_tier.needed|money }}."
        "{% for o in offers %} {{ o.name }} — {{ o.price|money }}{% endfor %}")
ANNA_EN = "{{ member.name }}, {{ burning.points|points }} bonuses burn on {{ burning.date|date:'d.m' }}."


def test_a_misspelt_variable_or_a_tag_that_reaches_outside_is_refused_and_nothing_is_saved():
    assert templating.problems("{{ member.nme }} {{ balans }}") == [
        "Неизвестные переменные: balans, member.nme. Известные: " + ", ".join(v.name for v in templating.variables())
        + "."]
    assert templating.problems('{% include "secrets.txt" %}')[0].startswith("Шаблон не читается:")
    assert templating.problems("{% load static %}")[0].startswith("Шаблон не читается:")

    with pytest.raises(ValidationFailed) as refused:
        save_template(code="anna", actor="t", name="Анна", channel="email", purpose="marketing", subject_ru="",
                      body_ru="{{ member.nme }}")
    assert refused.value.details["fields"] == {
        "body_ru": [templating.problems("{{ member.nme }}")[0]], "subject_ru": ["У письма должна быть тема."]}
    assert not MessageTemplate.objects.filter(code="anna").exists() and not AuditEvent.objects.exists()


def test_a_template_is_saved_changed_field_by_field_and_audited():
    save_template(code="anna", actor="t", name="Анна", channel="email", purpose="marketing",
                  subject_ru="Бонусы сгорят", body_ru=ANNA)
    save_template(code="anna", actor="user:maria", body_en=ANNA_EN, subject_en="Bonuses burn")

    saved = MessageTemplate.objects.get(code="anna")
    assert (saved.name, saved.body_ru, saved.body_en, saved.updated_by) == ("Анна", ANNA, ANNA_EN, "user:maria")
    assert [e.details for e in AuditEvent.objects.order_by("pk")] == [
        {"fields": ["body_ru", "channel", "name", "purpose", "subject_ru"]}, {"fields": ["body_en", "subject_en"]}]


def test_the_seeds_anna_gets_her_burn_date_points_tier_and_offers_in_her_language():
    anna = factories.member("Иванова", first_name="Анна")
    now = datetime(2026, 6, 1, 9, tzinfo=UTC)
    ledger.accrue(member_id=anna.pk, points=1000, actor="t", idempotency_key="a1", at=now - timedelta(days=300),
                  expires_at=datetime(2026, 6, 23, 21, tzinfo=UTC))  # the end of 23.06 in Moscow
    ledger.accrue(member_id=anna.pk, points=250, actor="t", idempotency_key="a2", at=now - timedelta(days=3))
    tiers.upsert_tier(code="silver", name="Серебро", rank=1, basis="turnover", threshold=Decimal("10000"))
    factories.products([("care", "Уход")], [{"sku": "C-1", "name": "Крем", "price": "1500", "group": "care"}])
    template = save_template(code="anna", actor="t", name="Анна", channel="email", purpose="marketing",
                             subject_ru="{{ member.name }}, бонусы сгорят", body_ru=ANNA,
                             subject_en="Bonuses burn", body_en=ANNA_EN)

    russian = compose(template, anna.pk, at=now, offers=["C-1", "NO-SUCH"], language="ru")
    english = compose(template, anna.pk, at=now, language="en")

    assert russian.subject == "Анна, бонусы сгорят"
    assert russian.body == ("Анна, 23.06 сгорят 1\xa0000 бонусов. До статуса Серебро осталось 10\xa0000,00 ₽. "
                            "Крем — 1\xa0500,00 ₽")
    assert (english.subject, english.body) == ("Bonuses burn", "Анна, 1,000 bonuses burn on 23.06.")


def test_without_english_texts_an_english_reader_gets_the_russian_ones():
    template = save_template(code="sms", actor="t", name="СМС", channel="sms", purpose="transactional",
                             body_ru="Баланс: {{ balance.available|points }}", relevance_hours=6)
    member = factories.member()
    factories.gift(member.pk, 70)

    assert compose(template, member.pk, language="en").body == "Баланс: 70"
    assert template.relevance_hours == 6
