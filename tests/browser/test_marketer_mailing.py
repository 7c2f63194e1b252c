"""A marketer in a real browser: opens an existing draft mailing, finds its stored settings in the form (the
segment in the condition builder with its live count), changes the held-out share, saves and sees it again; a
wrong share of the variants is refused with the reason and changes nothing; then reads a sent mailing's results —
the groups with what was sent, opened, clicked and bought, the charts and the downloads. In Russian and English."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import expect

from kopilka.backoffice.roles import MARKETER, sync_roles
from kopilka.communications.mailings import building
from kopilka.communications.mailings import services as mailings
from kopilka.communications.mailings.models import Mailing, MailingRecipient, MessageEvent
from kopilka.communications.message_templates import save_template
from kopilka.communications.services import deliver_queued
from kopilka.core import clock, programme
from kopilka.core.models import ProgrammeSettings
from kopilka.customers import services as members
from tests.analytics.programmes import buy
from tests.communications.conftest import smtp  # noqa: F401 - the SMTP server on loopback

PASSWORD = "a-long-browser-password-11"
WORDS = {"ru-RU": ("Контрольная группа, процент сегмента", "Сохранить", "Вариант B: доля, процентов",
                   "Доли вариантов в сумме дают 90 процентов, а не 100.", "Результаты рассылки по группам",
                   "вариант A", "контрольная группа"),
         "en-US": ("Control group, percent of the segment", "Save", "Variant B: share, percent",
                   "The variants' shares add up to 90 percent, not 100.", "Mailing results by group",
                   "variant A", "held out")}


def _marketer(page) -> None:
    sync_roles()
    marketer = User.objects.create_user("maria", password=PASSWORD, is_staff=True)
    marketer.groups.set([Group.objects.get(name=MARKETER)])
    page.goto("/admin/login/?next=/office/mailings/")
    page.fill("#id_username", "maria")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/office/mailings/")


def _programme() -> None:
    ProgrammeSettings.objects.create(pk=ProgrammeSettings.SINGLETON, public_url="https://bonus.example.ru",
                                     quiet_hours="00:00-00:00")  # none: the test runs at any hour
    programme.forget()
    for code, text in (("spring-a", "Весна: https://shop.example.ru/a"), ("spring-b", "Весна: https://shop.example.ru/b")):
        save_template(code=code, actor="t", name=code, channel="email", purpose="marketing", subject_ru="Весна",
                      body_ru=text)


def _draft(name: str = "Весенняя рассылка") -> Mailing:
    return mailings.save_mailing(actor="t", name=name, channel="email",
                                 conditions={"type": "member_kind", "kind": "individual"},
                                 holdout_percent=Decimal(10), rate_per_minute=100, attribution_days=7,
                                 variants=[mailings.Variant("spring-a", 50), mailings.Variant("spring-b", 50)])


@pytest.mark.parametrize("locale", ["ru-RU", "en-US"])
def test_a_marketer_changes_one_thing_of_a_draft_mailing_and_sees_it_saved(page_in, shot, locale):
    _programme()
    for n in range(3):
        members.create_member(actor="t", last_name="Иванова", email=f"m{n}@example.ru")
    draft = _draft()
    share_label, save, variant_b, refused, *_rest = WORDS[locale]
    page = page_in(locale)
    _marketer(page)
    page.get_by_role("link", name="Весенняя рассылка").click()
    page.wait_for_url(f"**/office/mailings/{draft.pk}/")
    expect(page.get_by_label(share_label)).to_have_value("10.00")
    expect(page.locator("#eligible")).to_have_attribute("data-count", "3")
    expect(page.get_by_test_id("split")).to_contain_text("3")

    page.get_by_label(variant_b).fill("40")
    page.get_by_role("button", name=save).click()
    expect(page.locator(".errorlist").first).to_contain_text(refused)
    assert list(Mailing.objects.get(pk=draft.pk).variants.values_list("share", flat=True)) == [50, 50]
    page.get_by_label(variant_b).fill("50")
    page.get_by_label(share_label).fill("25")
    page.get_by_role("button", name=save).click()
    expect(page.locator(".message.success")).to_contain_text("Весенняя рассылка")

    page.goto(f"/office/mailings/{draft.pk}/")
    expect(page.get_by_label(share_label)).to_have_value("25.00")
    shot(page, "saved")
    saved = Mailing.objects.get(pk=draft.pk)
    assert (saved.holdout_percent, saved.updated_by, saved.conditions) == (
        Decimal("25.00"), "user:maria", {"type": "member_kind", "kind": "individual"})


@pytest.mark.parametrize("locale", ["ru-RU", "en-US"])
def test_a_marketer_reads_a_sent_mailings_results(page_in, shot, smtp, locale):  # noqa: F811 - the fixture
    _programme()
    people = [members.create_member(actor="t", last_name="Иванова", email=f"m{n}@example.ru") for n in range(30)]
    for person in people:
        members.set_consent(member_id=person.pk, channel="email", granted=True, source="form", actor="t")
    mailing = _draft()
    mailings.schedule(mailing.pk, clock.now(), actor="t")
    building.advance(clock.now())
    sent = deliver_queued(limit=100)
    first = MailingRecipient.objects.filter(mailing=mailing, group=0).order_by("member_id").first()
    MessageEvent.objects.create(message=first.message, kind="click", url="https://shop.example.ru/a", at=clock.now())
    buy(first.member, clock.now(), "1500.00")
    building.advance(clock.now())
    *_first, title, variant_a, held_out = WORDS[locale]

    page = page_in(locale)
    _marketer(page)
    page.goto(f"/office/mailings/{mailing.pk}/results/")
    expect(page.get_by_role("heading", name=title)).to_be_visible()
    row = page.locator("[data-testid=groups] tbody tr").filter(has_text=variant_a)
    a = MailingRecipient.objects.filter(mailing=mailing, group=0).count()
    expect(row.locator("td").nth(1)).to_have_text(str(a))  # members
    expect(row.locator("td").nth(2)).to_have_text(str(a))  # sent
    expect(row.locator("td").nth(7)).to_have_text("1")  # opened: a click is an open
    expect(row.locator("td").nth(11)).to_have_text("1")  # converted
    expect(page.locator("[data-testid=groups] tbody tr").filter(has_text=held_out)).to_have_count(1)
    expect(page.locator("figure[data-chart=conversion] svg")).to_be_visible()
    expect(page.locator("figure[data-chart=path] svg")).to_be_visible()
    expect(page.get_by_test_id("sample")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").click()
    assert download.value.suggested_filename == f"mailing-{mailing.pk}-mailing-groups.csv"
    shot(page, "results")
    assert sent == MailingRecipient.objects.filter(mailing=mailing, group__gte=0).count()
