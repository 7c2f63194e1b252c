"""A marketer edits an existing message template in a real browser: its stored texts are in the form, a preview on
a real member fills them (nothing saved yet), a misspelt variable is refused with the field named, and a saved
change shows when the page is opened again. In Russian and English."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import expect

from kopilka.backoffice.roles import MARKETER, sync_roles
from kopilka.communications.message_templates import save_template
from kopilka.communications.models import MessageTemplate
from kopilka.core import clock
from kopilka.ledger import services as ledger
from tests import factories

PASSWORD = "a-long-browser-password-9"
WORDS = {"ru-RU": ("Тема (по-английски)", "Участник (id, карта или телефон)", "Предпросмотр", "Сохранить",
                   "Текст (по-русски)", "Неизвестные переменные"),
         "en-US": ("Subject (English)", "Member (id, card or phone)", "Preview", "Save", "Text (Russian)",
                   "Unknown variables")}


@pytest.mark.parametrize("locale", ["ru-RU", "en-US"])
def test_a_marketer_previews_a_template_on_a_member_and_saves_one_change(page_in, shot, locale):
    sync_roles()
    marketer = User.objects.create_user("maria", password=PASSWORD, is_staff=True)
    marketer.groups.set([Group.objects.get(name=MARKETER)])
    anna = factories.member("Иванова", first_name="Анна", phone="+79161234567")
    ledger.accrue(member_id=anna.pk, points=1000, actor="t", idempotency_key="a1",
                  expires_at=clock.now() + timedelta(days=20))
    body_ru = "{{ member.name }}, скоро сгорят {{ burning.points|points }} бонусов."
    save_template(code="anna", actor="t", name="Анна: бонусы сгорят", channel="email", purpose="marketing",
                  subject_ru="Бонусы сгорят", body_ru=body_ru, subject_en="Bonuses burn",
                  body_en="{{ member.name }}, {{ burning.points|points }} bonuses burn soon.")
    subject_en, member_field, preview, save, text_ru, unknown = WORDS[locale]

    page = page_in(locale)
    page.goto("/admin/login/?next=/office/templates/")
    page.fill("#id_username", "maria")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/office/templates/")
    page.get_by_role("link", name="anna").click()
    page.wait_for_url("**/office/templates/anna/")
    expect(page.get_by_label(subject_en)).to_have_value("Bonuses burn")
    expect(page.get_by_label(text_ru)).to_have_value(body_ru)

    page.get_by_label(subject_en).fill("Your bonuses burn soon")
    page.get_by_label(member_field).fill("+7 916 123-45-67")
    page.get_by_role("button", name=preview).click()
    expect(page.locator("article[lang=ru] pre")).to_have_text("Анна, скоро сгорят 1\xa0000 бонусов.")
    expect(page.locator("article[lang=en] h3")).to_have_text("EN: Your bonuses burn soon")
    expect(page.locator("article[lang=en] pre")).to_have_text("Анна, 1,000 bonuses burn soon.")
    expect(page.get_by_label(subject_en)).to_have_value("Your bonuses burn soon")  # kept in the form, not saved
    assert MessageTemplate.objects.get(code="anna").subject_en == "Bonuses burn"
    shot(page, "preview")

    page.get_by_label(text_ru).fill("{{ member.nme }}")
    page.get_by_role("button", name=save).click()
    expect(page.locator(".errorlist").first).to_contain_text(unknown)
    assert MessageTemplate.objects.get(code="anna").body_ru == body_ru
    page.get_by_label(text_ru).fill(body_ru)
    page.get_by_role("button", name=save).click()
    expect(page.get_by_role("status")).to_contain_text("anna")

    page.goto("/office/templates/anna/")
    expect(page.get_by_label(subject_en)).to_have_value("Your bonuses burn soon")
    expect(page.get_by_label(text_ru)).to_have_value(body_ru)
    shot(page, "saved")
    saved = MessageTemplate.objects.get(code="anna")
    assert (saved.subject_en, saved.subject_ru, saved.body_ru, saved.updated_by) == (
        "Your bonuses burn soon", "Бонусы сгорят", body_ru, "user:maria")
