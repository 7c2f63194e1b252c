"""The programme's settings of personal notices: which kinds are on, the template each uses, and the days before
(the burn, the campaign's end) where the kind counts them.

`change_settings` is the one way to change them (the back office): every value is checked first and a refusal
names each wrong field in the person's language and changes nothing; a saved change is in the audit log with the
kinds it moved, in the same transaction. A kind switched on tells of what happens from that moment on, never of
what happened while it was off.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from kopilka.communications.models import MessageTemplate
from kopilka.communications.notice_kinds import KINDS, MOST_DAYS
from kopilka.communications.notice_models import NoticeSetting
from kopilka.core import audit, clock
from kopilka.core.errors import ValidationFailed

DEFAULT_DAYS = 3  # days before, for a kind that counts them and has none saved


@dataclass(frozen=True)
class Wanted:
    """What a person asks one kind's setting to be."""

    is_enabled: bool
    template: str  # a template's code
    days_before: int | None = None


def all_settings() -> list[NoticeSetting]:
    """Every kind's setting, in the order of `KINDS`."""
    found = {setting.kind: setting for setting in NoticeSetting.objects.select_related("template")}
    return [found[kind] for kind in KINDS if kind in found]


def enabled(kind: str) -> NoticeSetting | None:
    """The kind's setting when the kind is on (it tells of what happened from its `on_since`)."""
    return NoticeSetting.objects.select_related("template").filter(kind=kind, is_enabled=True).first()


def tells_of(setting: NoticeSetting, moment: datetime) -> bool:
    """Whether the kind of `setting`, on, tells of something that happened at `moment`: since it was switched on."""
    return setting.is_enabled and setting.on_since is not None and moment >= setting.on_since


def days_before(kind: str) -> int:
    """The kind's days before, whether it is on or not (the coming burns feed webhooks too)."""
    saved = NoticeSetting.objects.filter(kind=kind).values_list("days_before", flat=True).first()
    return saved or DEFAULT_DAYS


def change_settings(wanted: dict[str, Wanted], *, user=None, actor: str | None = None) -> list[str]:
    """Save the settings of the kinds in `wanted`, all or nothing; returns the kinds that changed."""
    problems = _problems(wanted)
    if problems:
        raise ValidationFailed(_("The notice settings are not saved: %(fields)s.") % {
            "fields": ", ".join(sorted(problems))}, code="notice_settings_invalid", details={"fields": problems})
    who = actor or audit.actor_of(user)
    templates = {t.code: t for t in MessageTemplate.objects.filter(code__in=[w.template for w in wanted.values()])}
    with transaction.atomic():
        saved = {s.kind: s for s in NoticeSetting.objects.select_for_update().filter(kind__in=list(wanted))}
        changed = []
        for kind, want in wanted.items():
            setting = saved[kind]
            days = want.days_before if KINDS[kind].counts_days else None
            new = (want.is_enabled, templates[want.template].pk, days)
            if (setting.is_enabled, setting.template_id, setting.days_before) == new:
                continue
            if want.is_enabled and not setting.is_enabled:
                setting.on_since = clock.now()
            setting.is_enabled, setting.template_id, setting.days_before = new
            setting.updated_at, setting.updated_by = clock.now(), who
            setting.save()
            changed.append(kind)
        if changed:
            audit.record(user, "communications.notices_changed", _("Changed notice settings: %(kinds)s") % {
                "kinds": ", ".join(str(NoticeSetting.Kind(kind).label) for kind in changed)},
                target="communications.noticesetting", details={"kinds": changed}, actor=who)
    return changed


def _problems(wanted: dict[str, Wanted]) -> dict[str, list[str]]:
    """Per field ("<kind>.<field>"), what is wrong with the wanted settings."""
    found: dict[str, list[str]] = {}
    known = set(MessageTemplate.objects.filter(code__in=[w.template for w in wanted.values()])
                .values_list("code", flat=True))
    existing = set(NoticeSetting.objects.filter(kind__in=list(wanted)).values_list("kind", flat=True))
    for kind, want in wanted.items():
        if kind not in KINDS or kind not in existing:
            found.setdefault(f"{kind}.kind", []).append(_("No such notice."))
            continue
        if want.template not in known:
            found.setdefault(f"{kind}.template", []).append(
                _("No message template %(code)s.") % {"code": want.template})
        days = want.days_before
        if KINDS[kind].counts_days and (days is None or not 1 <= days <= MOST_DAYS):
            found.setdefault(f"{kind}.days_before", []).append(
                _("Give a whole number of days from 1 to %(most)d.") % {"most": MOST_DAYS})
    return found
