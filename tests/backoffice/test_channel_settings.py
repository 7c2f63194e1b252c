"""The channel settings page: the rules of messages are programme settings (checked by the programme's rules,
audited), the SMS provider is saved with its secrets written but never shown back."""

import pytest
from django.test import Client

from kopilka.communications import reports
from kopilka.communications.models import SmsProvider
from kopilka.core import programme
from kopilka.core.models import AuditEvent, ProgrammeSettings

pytestmark = pytest.mark.django_db

PROVIDER = {"sms-name": "SMS Aero", "sms-url": "https://sms.example/send", "sms-method": "POST",
            "sms-body_format": "json", "sms-to_field": "number", "sms-text_field": "text", "sms-auth": "header",
            "sms-auth_header": "Authorization", "sms-auth_secret": "Bearer top-secret-token",
            "sms-report_secret": "a-long-report-secret", "sms-report_id_field": "id", "sms-report_id": "providers",
            "sms-report_status_field": "status", "sms-delivered_values": "delivered",
            "sms-failed_values": "failed", "sms-timeout_seconds": "10", "sms-extra_fields": "{}"}
RULES = {"rules-quiet_hours": "22:00-08:00", "rules-marketing_cap_messages": "5", "rules-marketing_cap_days": "30",
         "rules-public_url": "https://bonus.example.ru/"}


@pytest.fixture
def administrator(staff):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(staff("administrator"))
    return client


def test_the_rules_and_the_provider_are_saved_and_the_secrets_never_shown(administrator):
    assert administrator.post("/office/channels/", {**RULES, **PROVIDER}).status_code == 302
    programme.forget()
    assert [programme.value(name) for name in ("QUIET_HOURS", "MARKETING_CAP_MESSAGES", "MARKETING_CAP_DAYS",
                                               "PUBLIC_URL")] == ["22:00-08:00", 5, 30, "https://bonus.example.ru"]
    saved = SmsProvider.objects.get()
    assert (saved.name, saved.to_field, saved.auth_secret) == ("SMS Aero", "number", "Bearer top-secret-token")
    assert saved.report_secret_digest == reports.digest("a-long-report-secret")

    page = administrator.get("/office/channels/").content.decode()
    assert "top-secret-token" not in page and "a-long-report-secret" not in page
    assert "https://bonus.example.ru/channels/sms/reports" in page
    assert page.count('data-saved-secret') == 2

    kept = {**PROVIDER, "sms-auth_secret": "", "sms-report_secret": "", "sms-name": "SMS Aero 2"}
    assert administrator.post("/office/channels/", {**RULES, **kept}).status_code == 302
    saved.refresh_from_db()
    assert (saved.name, saved.auth_secret) == ("SMS Aero 2", "Bearer top-secret-token")
    assert saved.report_secret_digest == reports.digest("a-long-report-secret")
    changes = AuditEvent.objects.filter(action="communications.sms_provider").order_by("id")
    assert "name" in changes.last().details["changed"] and "auth_secret" not in changes.last().details["changed"]
    assert "top-secret" not in str(list(AuditEvent.objects.values_list("details", "summary")))


@pytest.mark.parametrize(("field", "value", "error"), [
    ("rules-quiet_hours", "late", "Quiet hours are written as two times of day"),
    ("rules-public_url", "bonus.example.ru?x=1", "The public address is an http or https address"),
    ("rules-marketing_cap_messages", "0", "From 1 to 1000 marketing messages."),
    ("sms-url", "not an address", "Enter a valid URL."),
])
def test_bad_values_are_refused_in_the_readers_language_and_nothing_changes(administrator, field, value, error):
    page = administrator.post("/office/channels/", {**RULES, **PROVIDER, field: value})
    assert page.status_code == 200 and error in page.content.decode()
    assert not ProgrammeSettings.objects.exists() and not SmsProvider.objects.exists()
    assert not AuditEvent.objects.exists()


def test_the_rules_alone_are_saved_without_a_provider(administrator):
    assert administrator.post("/office/channels/", RULES).status_code == 302
    assert ProgrammeSettings.objects.get().quiet_hours == "22:00-08:00" and not SmsProvider.objects.exists()


def test_an_auditor_reads_the_page_but_cannot_change_it(staff):
    auditor = Client()
    auditor.force_login(staff("auditor"))
    assert auditor.get("/office/channels/").status_code == 200
    assert auditor.post("/office/channels/", {**RULES, **PROVIDER}).status_code == 403
    assert not ProgrammeSettings.objects.exists() and not SmsProvider.objects.exists()
