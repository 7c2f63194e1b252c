"""The personal notices page: every kind's setting is shown and saved at once, audited; a wrong value is refused
on its field in the person's language and nothing is saved; the template list offers every template."""

import pytest
from django.test import Client
from django.utils import translation

from kopilka.communications import notice_settings
from kopilka.communications.message_templates import save_template
from kopilka.communications.notice_kinds import KINDS
from kopilka.communications.notice_models import NoticeSetting
from kopilka.core.errors import ValidationFailed
from kopilka.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def posted(**changes) -> dict:
    """The form as shipped (every kind off, its own template, the shipped days), with `changes` on top."""
    form = {}
    for setting in NoticeSetting.objects.select_related("template"):
        form[f"{setting.kind}-template"] = setting.template.code
        if KINDS[setting.kind].counts_days:
            form[f"{setting.kind}-days_before"] = str(setting.days_before)
    return {**form, **changes}


def saved() -> dict[str, tuple]:
    return {s.kind: (s.is_enabled, s.template.code, s.days_before)
            for s in NoticeSetting.objects.select_related("template")}


@pytest.fixture
def marketer(staff):
    def client(language: str) -> Client:
        signed_in = Client(HTTP_ACCEPT_LANGUAGE=language)
        signed_in.force_login(staff("marketer"))
        return signed_in
    return client


def test_every_kind_is_shipped_off_with_its_own_template():
    assert saved() == {
        "points_accrued": (False, "notice-points-accrued", None), "points_spent": (False, "notice-points-spent", None),
        "points_expiring": (False, "notice-points-expiring", 7), "tier_changed": (False, "notice-tier-changed", None),
        "campaign_started": (False, "notice-campaign-started", None),
        "campaign_ending": (False, "notice-campaign-ending", 3)}


def test_a_marketer_switches_a_notice_on_with_another_template_and_days(marketer):
    save_template(code="burn-soft", actor="t", name="Мягко о сгорании", channel="email", purpose="transactional",
                  subject_ru="Скоро сгорят бонусы", body_ru="{{ notice.points|points }} бонусов сгорят.")
    before, client = saved(), marketer("ru")
    answer = client.post("/office/notices/", posted(**{
        "points_expiring-is_enabled": "on", "points_expiring-template": "burn-soft",
        "points_expiring-days_before": "5"}))

    assert answer.status_code == 302 and answer["Location"] == "/office/notices/"
    assert saved() == {**before, "points_expiring": (True, "burn-soft", 5)}
    assert NoticeSetting.objects.get(kind="points_expiring").on_since is not None
    event = AuditEvent.objects.get(action="communications.notices_changed")
    assert event.details == {"kinds": ["points_expiring"]} and event.actor.startswith("user:marketer-")
    page = client.get("/office/notices/").content.decode()
    assert "Настройки уведомлений сохранены." in page and 'value="burn-soft" selected' in page


@pytest.mark.parametrize("language, says", [
    ("ru", "Убедитесь, что это значение меньше либо равно 90."),
    ("en", "Ensure this value is less than or equal to 90."),
])
def test_days_out_of_range_are_refused_on_their_field_and_nothing_is_saved(marketer, language, says):
    before = saved()
    answer = marketer(language).post("/office/notices/", posted(**{
        "points_accrued-is_enabled": "on", "campaign_ending-days_before": "91"}))
    assert answer.status_code == 200 and says in answer.content.decode()
    assert saved() == before and not AuditEvent.objects.filter(action="communications.notices_changed").exists()


@pytest.mark.parametrize("language, says", [("ru", "Нет шаблона сообщения gone."),
                                            ("en", "No message template gone.")])
def test_a_template_deleted_meanwhile_is_refused_and_nothing_is_saved(marketer, language, says):
    before = saved()
    with translation.override(language), pytest.raises(ValidationFailed) as refused:
        notice_settings.change_settings({
            "points_accrued": notice_settings.Wanted(True, "notice-points-accrued"),
            "tier_changed": notice_settings.Wanted(True, "gone")}, actor="t")
    assert refused.value.details == {"fields": {"tier_changed.template": [says]}}
    assert saved() == before


def test_an_auditor_reads_the_page_without_a_save_button(staff):
    auditor = Client(HTTP_ACCEPT_LANGUAGE="en")
    auditor.force_login(staff("auditor"))
    page = auditor.get("/office/notices/").content.decode()
    assert "Points about to burn" in page and "<button type=\"submit\">Save</button>" not in page
