"""Keeping message templates and filling them for a member.

`save_template` refuses a template whose text cannot be read or names a variable no message has (field by field,
in the author's language) and changes nothing then; a saved one is recorded in the audit log with the fields that
changed. `compose` fills a template for one member, in the member's language (the programme's, LANGUAGE_CODE,
until members carry their own), with the moment its relevance window ends (`relevance_end`): a message made from it
is not sent after that.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from kopilka.communications import templating
from kopilka.communications.models import MessageTemplate
from kopilka.communications.template_context import member_context
from kopilka.core import audit, clock
from kopilka.core.errors import NotFound, ValidationFailed

TEXTS = ("subject_ru", "body_ru", "subject_en", "body_en")
FIELDS = ("name", "channel", "purpose", *TEXTS, "relevance_hours")


@dataclass(frozen=True)
class Composed:
    language: str
    subject: str
    body: str
    relevant_until: datetime | None = None  # the template's relevance window counted from the moment filled for


def get_template(code: str) -> MessageTemplate:
    found = MessageTemplate.objects.filter(code=code).first()
    if found is None:
        raise NotFound(_("No message template %(code)s.") % {"code": code}, code="template_not_found",
                       details={"code": code})
    return found


def problems(fields: dict) -> dict[str, list[str]]:
    """Per field, what is wrong with a template's values; empty when they can be saved."""
    found = {name: templating.problems(fields.get(name) or "") for name in TEXTS}
    found = {name: errors for name, errors in found.items() if errors}
    if not (fields.get("body_ru") or "").strip():
        found.setdefault("body_ru", []).append(_("The Russian text is required."))
    if fields.get("channel", MessageTemplate.Channel.EMAIL) == MessageTemplate.Channel.EMAIL:
        if not (fields.get("subject_ru") or "").strip():
            found.setdefault("subject_ru", []).append(_("An e-mail needs a subject."))
        if (fields.get("body_en") or "").strip() and not (fields.get("subject_en") or "").strip():
            found.setdefault("subject_en", []).append(_("An e-mail needs a subject."))
    return found


def save_template(*, code: str, user=None, actor: str | None = None, **fields) -> MessageTemplate:
    """Create the template `code` or change it to `fields` (those of FIELDS given); refused whole when any field
    is wrong."""
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise ValueError(f"not template fields: {sorted(unknown)}")
    with transaction.atomic():
        template = MessageTemplate.objects.select_for_update().filter(code=code).first()
        current = {name: getattr(template, name) for name in FIELDS} if template else {}
        wanted = {**current, **fields}
        found = problems(wanted)
        if found:
            raise ValidationFailed(_("The template is not saved: %(fields)s.") % {"fields": ", ".join(sorted(found))},
                                   details={"fields": found})
        changed = sorted(name for name in FIELDS if current.get(name) != wanted.get(name))
        who = actor or audit.actor_of(user)
        if template is None:
            template = MessageTemplate(code=code)
        for name in FIELDS:
            if name in wanted:
                setattr(template, name, wanted[name])
        template.updated_at, template.updated_by = clock.now(), who
        try:
            template.full_clean(exclude=["updated_at", "updated_by"])
        except DjangoValidationError as refused:
            raise ValidationFailed(_("The template is not saved: %(fields)s.") % {
                "fields": ", ".join(sorted(refused.message_dict))}, details={"fields": refused.message_dict}) from None
        template.save()
        audit.record(user, "communications.template_saved",
                     _("Saved message template %(code)s: %(fields)s") % {"code": code, "fields": ", ".join(changed)},
                     target=f"communications.messagetemplate:{template.pk}", details={"fields": changed}, actor=who)
    return template


def compose(template: MessageTemplate, member_id: int, *, at: datetime | None = None, offers: Sequence[str] = (),
            extra: dict | None = None, language: str | None = None) -> Composed:
    """The template filled for the member at `at`, with `extra` variables on top of the member's."""
    at = at or clock.now()
    language = language or settings.LANGUAGE_CODE
    context = {**member_context(member_id, at, offers=offers), **(extra or {})}
    subject, body = template.texts(language)
    with translation.override(language):
        return Composed(language, templating.render(subject, context).strip(), templating.render(body, context),
                        relevance_end(template, at))


def relevance_end(template: MessageTemplate, since: datetime) -> datetime | None:
    """When a message made from the template about something at `since` stops being worth sending (None: never)."""
    return None if template.relevance_hours is None else since + timedelta(hours=template.relevance_hours)
