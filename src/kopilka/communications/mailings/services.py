"""Keeping mailings: a draft is made and changed whole (`save_mailing`), scheduled for a moment, taken back to a
draft, or cancelled before it starts. Each change is checked first and refused whole with the reasons in the
author's language (ValidationFailed, nothing changed), and recorded in the audit log in its transaction.

What a draft must be to be saved: a name; a channel; a conditions tree that parses (or none: every active member);
a held-out share of 0 … 50 % in hundredths; a rate of at least one message a minute (or none); an attribution
window of 1 … 90 days; one to MAX_VARIANTS variants, each a marketing template of the mailing's channel, their shares
whole percents summing to 100. To be scheduled, also: a moment not in the past and, for e-mail, the programme's
public address (every marketing e-mail carries its unsubscribe link and tracking through it).
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from kopilka.campaigns.conditions import parse as parse_condition
from kopilka.communications.mailings.models import MAX_HOLDOUT_PERCENT, Mailing, MailingVariant
from kopilka.communications.models import MessageTemplate
from kopilka.core import audit, clock, programme
from kopilka.core.errors import NotFound, ValidationFailed

MAX_VARIANTS = 4
FIELDS = ("name", "channel", "conditions", "holdout_percent", "rate_per_minute", "attribution_days")


@dataclass(frozen=True)
class Variant:
    template: str  # the template's code
    share: int  # whole percent


def get_mailing(mailing_id: int) -> Mailing:
    found = Mailing.objects.filter(pk=mailing_id).first()
    if found is None:
        raise NotFound(_("No mailing %(id)s.") % {"id": mailing_id}, code="mailing_not_found",
                       details={"id": mailing_id})
    return found


def problems(fields: dict, variants: list[Variant]) -> dict[str, list[str]]:
    """Per field, what keeps a draft from being saved; empty when it can be."""
    found: dict[str, list[str]] = {}

    def add(name: str, text: str) -> None:
        found.setdefault(name, []).append(text)

    if not (fields.get("name") or "").strip():
        add("name", _("A mailing needs a name."))
    channel = fields.get("channel")
    if channel not in Mailing.Channel.values:
        add("channel", _("Choose e-mail or SMS."))
    if fields.get("conditions") is not None:
        try:
            parse_condition(fields["conditions"])
        except (TypeError, ValueError) as error:  # pydantic's errors are ValueErrors
            add("conditions", _("The conditions are not valid: %(error)s") % {"error": error})
    share = fields.get("holdout_percent")
    if not isinstance(share, Decimal) or not 0 <= share <= MAX_HOLDOUT_PERCENT or share != share.quantize(
            Decimal("0.01")):
        add("holdout_percent", _("The held-out share is 0 to %(max)s percent, in hundredths.") % {
            "max": MAX_HOLDOUT_PERCENT})
    rate = fields.get("rate_per_minute")
    if rate is not None and (not isinstance(rate, int) or rate < 1):
        add("rate_per_minute", _("The send rate is at least one message a minute, or empty for no limit."))
    days = fields.get("attribution_days")
    if not isinstance(days, int) or not 1 <= days <= 90:
        add("attribution_days", _("The attribution window is 1 to 90 days."))
    found.update(_variant_problems(channel, variants))
    return found


def _variant_problems(channel: str | None, variants: list[Variant]) -> dict[str, list[str]]:
    if not 1 <= len(variants) <= MAX_VARIANTS:
        return {"variants": [_("A mailing has one to %(n)d variants.") % {"n": MAX_VARIANTS}]}
    wrong = []
    templates = {t.code: t for t in MessageTemplate.objects.filter(code__in=[v.template for v in variants])}
    for label, variant in zip("ABCD", variants, strict=False):
        template = templates.get(variant.template)
        if template is None:
            wrong.append(_("Variant %(label)s: no template %(code)s.") % {"label": label, "code": variant.template})
        elif template.purpose != MessageTemplate.Purpose.MARKETING or template.channel != channel:
            wrong.append(_("Variant %(label)s: the template %(code)s is not a marketing template of this "
                           "channel.") % {"label": label, "code": variant.template})
        if variant.share < 1:
            wrong.append(_("Variant %(label)s: a share is at least 1 percent.") % {"label": label})
    if sum(v.share for v in variants) != 100:
        wrong.append(_("The variants' shares add up to %(sum)d percent, not 100.") % {
            "sum": sum(v.share for v in variants)})
    return {"variants": wrong} if wrong else {}


def _refused(found: dict[str, list[str]]) -> ValidationFailed:
    return ValidationFailed(_("The mailing is not saved: %(problems)s") % {
        "problems": " ".join(text for texts in found.values() for text in texts)}, code="mailing_invalid",
        details={"fields": found})


def save_mailing(*, mailing_id: int | None = None, variants: list[Variant], user=None, actor: str | None = None,
                 **fields) -> Mailing:
    """Create a draft (no `mailing_id`) or change a draft to `fields` (all of FIELDS) and `variants`."""
    unknown = set(fields) ^ set(FIELDS)
    if unknown:
        raise ValueError(f"a mailing's fields are exactly {FIELDS}: {sorted(unknown)}")
    found = problems(fields, variants)
    if found:
        raise _refused(found)
    who, now = actor or audit.actor_of(user), clock.now()
    with transaction.atomic():
        if mailing_id is None:
            mailing = Mailing(created_at=now)
        else:
            mailing = Mailing.objects.select_for_update().filter(pk=mailing_id).first() or get_mailing(mailing_id)
            if mailing.status != Mailing.Status.DRAFT:
                raise ValidationFailed(_("Only a draft is changed; this mailing is %(status)s.") % {
                    "status": mailing.get_status_display()}, code="mailing_not_draft")
        for name in FIELDS:
            setattr(mailing, name, fields[name])
        mailing.updated_at, mailing.updated_by = now, who
        mailing.save()
        templates = dict(MessageTemplate.objects.filter(code__in=[v.template for v in variants])
                         .values_list("code", "pk"))
        mailing.variants.all().delete()
        MailingVariant.objects.bulk_create([
            MailingVariant(mailing=mailing, position=position, template_id=templates[v.template], share=v.share)
            for position, v in enumerate(variants)])
        audit.record(user, "communications.mailing_saved",
                     _("Saved mailing %(id)s: %(name)s") % {"id": mailing.pk, "name": mailing.name},
                     target=f"communications.mailing:{mailing.pk}", actor=who)
    return mailing


def schedule(mailing_id: int, send_at: datetime, *, user=None, actor: str | None = None) -> Mailing:
    """A draft is to start at `send_at` (not in the past)."""
    who = actor or audit.actor_of(user)
    with transaction.atomic():
        mailing = _locked(mailing_id, Mailing.Status.DRAFT)
        if send_at < clock.now().replace(second=0, microsecond=0):
            raise ValidationFailed(_("The moment to send at has passed."), code="mailing_send_at_past")
        if mailing.channel == Mailing.Channel.EMAIL and not programme.value("PUBLIC_URL"):
            raise ValidationFailed(
                _("Marketing e-mail carries an unsubscribe link: set the platform's public address first "
                  "(channel settings, or KOPILKA_PUBLIC_URL)."), code="public_url_missing")
        return _moved(mailing, user, who, status=Mailing.Status.SCHEDULED, send_at=send_at,
                      summary=_("Scheduled mailing %(id)s for %(at)s") % {"id": mailing.pk, "at": send_at.isoformat()})


def back_to_draft(mailing_id: int, *, user=None, actor: str | None = None) -> Mailing:
    """A scheduled mailing that has not started is a draft again, to be changed."""
    with transaction.atomic():
        mailing = _locked(mailing_id, Mailing.Status.SCHEDULED)
        return _moved(mailing, user, actor or audit.actor_of(user), status=Mailing.Status.DRAFT, send_at=None,
                      summary=_("Took mailing %(id)s back to a draft") % {"id": mailing.pk})


def cancel(mailing_id: int, *, user=None, actor: str | None = None) -> Mailing:
    """A draft or a scheduled mailing that has not started never will."""
    with transaction.atomic():
        mailing = _locked(mailing_id, Mailing.Status.DRAFT, Mailing.Status.SCHEDULED)
        return _moved(mailing, user, actor or audit.actor_of(user), status=Mailing.Status.CANCELLED,
                      summary=_("Cancelled mailing %(id)s") % {"id": mailing.pk})


def _locked(mailing_id: int, *statuses: str) -> Mailing:
    mailing = Mailing.objects.select_for_update().filter(pk=mailing_id).first() or get_mailing(mailing_id)
    if mailing.status not in statuses:
        raise ValidationFailed(_("Not possible now: the mailing is %(status)s.") % {
            "status": mailing.get_status_display()}, code="mailing_status")
    return mailing


def _moved(mailing: Mailing, user, who: str, *, summary: str, **changes) -> Mailing:
    for name, value in changes.items():
        setattr(mailing, name, value)
    mailing.problem, mailing.updated_at, mailing.updated_by = "", clock.now(), who
    mailing.save()
    audit.record(user, f"communications.mailing_{mailing.status}", summary,
                 target=f"communications.mailing:{mailing.pk}", actor=who)
    return mailing
