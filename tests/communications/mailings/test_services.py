"""Keeping mailings: a draft is saved whole or refused whole with every reason, nothing changed; only a draft is
changed; a draft is scheduled for a moment not past (e-mail only with the public address), taken back, cancelled;
a started mailing is neither changed nor cancelled. Each change is in the audit log."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import translation

from kopilka.communications.mailings import building
from kopilka.communications.mailings import services as mailings
from kopilka.communications.mailings.models import Mailing, MailingVariant
from kopilka.communications.mailings.services import Variant
from kopilka.core import programme
from kopilka.core.errors import ValidationFailed
from kopilka.core.models import AuditEvent, ProgrammeSettings
from tests.communications.mailings.conftest import draft

pytestmark = pytest.mark.django_db


def state() -> list:
    return [list(Mailing.objects.values_list("name", "status", "holdout_percent", "send_at")),
            list(MailingVariant.objects.values_list("template__code", "share")), AuditEvent.objects.count()]


def test_a_draft_is_changed_whole_and_audited():
    mailing = draft(variants=(("spring-a", 100),))
    mailings.save_mailing(mailing_id=mailing.pk, actor="user:maria", name="Весна-2", channel="email",
                          conditions={"type": "member_kind", "kind": "individual"}, holdout_percent=Decimal("12.5"),
                          rate_per_minute=100, attribution_days=14,
                          variants=[Variant("spring-a", 40), Variant("spring-b", 60)])
    saved = Mailing.objects.get(pk=mailing.pk)
    assert (saved.name, saved.holdout_percent, saved.rate_per_minute, saved.attribution_days, saved.updated_by) == (
        "Весна-2", Decimal("12.50"), 100, 14, "user:maria")
    assert list(saved.variants.values_list("position", "template__code", "share")) == [
        (0, "spring-a", 40), (1, "spring-b", 60)]
    assert AuditEvent.objects.filter(action="communications.mailing_saved").count() == 2


def test_a_wrong_draft_is_refused_with_every_reason_and_nothing_changes():
    mailing = draft()
    before = state()
    with pytest.raises(ValidationFailed) as refused, translation.override("en"):
        mailings.save_mailing(mailing_id=mailing.pk, actor="t", name=" ", channel="email",
                              conditions={"type": "nonsense"}, holdout_percent=Decimal("60"), rate_per_minute=0,
                              attribution_days=0, variants=[Variant("spring-a", 50), Variant("spring-sms", 40)])
    assert sorted(refused.value.details["fields"]) == [
        "attribution_days", "conditions", "holdout_percent", "name", "rate_per_minute", "variants"]
    assert refused.value.details["fields"]["variants"] == [
        "Variant B: the template spring-sms is not a marketing template of this channel.",
        "The variants' shares add up to 90 percent, not 100."]
    assert state() == before


def test_schedule_back_to_draft_and_cancel(moments):
    mailing = draft()
    with pytest.raises(ValidationFailed) as past:
        mailings.schedule(mailing.pk, moments.now - timedelta(minutes=2), actor="t")
    assert past.value.code == "mailing_send_at_past"
    mailings.schedule(mailing.pk, moments.now + timedelta(hours=1), actor="t")
    with pytest.raises(ValidationFailed) as not_draft:
        mailings.save_mailing(mailing_id=mailing.pk, actor="t", name="x", channel="email", conditions=None,
                              holdout_percent=Decimal(0), rate_per_minute=None, attribution_days=7,
                              variants=[Variant("spring-a", 100)])
    assert not_draft.value.code == "mailing_not_draft"
    assert mailings.back_to_draft(mailing.pk, actor="t").status == "draft"
    assert Mailing.objects.get(pk=mailing.pk).send_at is None
    assert mailings.cancel(mailing.pk, actor="t").status == "cancelled"
    with pytest.raises(ValidationFailed):
        mailings.schedule(mailing.pk, moments.now + timedelta(hours=1), actor="t")


def test_a_started_mailing_is_not_cancelled(moments):
    mailing = draft()
    mailings.schedule(mailing.pk, moments.now, actor="t")
    building.advance(moments.now)
    before = state()
    with pytest.raises(ValidationFailed) as refused:
        mailings.cancel(mailing.pk, actor="t")
    assert refused.value.code == "mailing_status" and state() == before


def test_marketing_email_is_not_scheduled_without_the_public_address(moments):
    ProgrammeSettings.objects.update(public_url="")
    programme.forget()
    mailing = draft()
    with pytest.raises(ValidationFailed) as refused:
        mailings.schedule(mailing.pk, moments.now + timedelta(hours=1), actor="t")
    assert refused.value.code == "public_url_missing"
    assert Mailing.objects.get(pk=mailing.pk).status == "draft"
