"""Programme settings an administrator changes on a screen (SPEC §6): the time zone, the redemption order, the
return policy, the receipt and line caps, the default lifetime of points, the worth of a point, how far back a
receipt may be dated, the redemption shop's terms, the share of members in the global control group
(`holdout`), and the rules of messages to members: quiet hours, the cap on marketing messages and the
public address their links start with.

One database row holds what was saved; a field left empty there takes its value from the environment
(`settings.KOPILKA`, see the README). Reads are cached per process for `CACHE_SECONDS`: another process sees a
change within that time, the process that saved it at once.

`change` is the one way to save them (the back office's screen and the API): every value passes `check`, the
rules of this module, and the answer says which values in force moved. Every change sends `changed` inside its
transaction (the audit log records it; core's app config connects the two).
"""

import re
import time
import zoneinfo
from collections.abc import Mapping
from datetime import time as clock_time
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn
from urllib.parse import urlsplit

from django.conf import settings
from django.db import DatabaseError, transaction
from django.dispatch import Signal
from django.utils.translation import gettext_lazy as _

from kopilka.core.errors import ValidationFailed

CACHE_SECONDS = 5.0
# name in settings.KOPILKA → field of ProgrammeSettings
FIELDS = {
    "TIME_ZONE": "time_zone",
    "REDEMPTION_ORDER": "redemption_order",
    "RETURN_POLICY": "return_policy",
    "RECEIPT_CAP_PERCENT": "receipt_cap_percent",
    "LINE_CAP_PERCENT": "line_cap_percent",
    "DEFAULT_LOT_LIFETIME_DAYS": "default_lot_lifetime_days",
    "POINT_VALUE": "point_value",
    "BACKDATING_DAYS": "backdating_days",
    "PARTNER_POINT_VALUE": "partner_point_value",
    "PARTNER_CAP_PERCENT": "partner_cap_percent",
    "QUIET_HOURS": "quiet_hours",
    "MARKETING_CAP_MESSAGES": "marketing_cap_messages",
    "MARKETING_CAP_DAYS": "marketing_cap_days",
    "PUBLIC_URL": "public_url",
    "CONTROL_GROUP_PERCENT": "control_group_percent",
}
DECIMALS = ("RECEIPT_CAP_PERCENT", "LINE_CAP_PERCENT", "POINT_VALUE", "PARTNER_POINT_VALUE", "PARTNER_CAP_PERCENT",
            "CONTROL_GROUP_PERCENT")
INTEGERS = ("DEFAULT_LOT_LIFETIME_DAYS", "BACKDATING_DAYS", "MARKETING_CAP_MESSAGES", "MARKETING_CAP_DAYS")
REDEMPTION_ORDERS = ("category_fifo", "soonest_expiring")
RETURN_POLICIES = ("take_available", "negative", "block")
MAX_LIFETIME_DAYS = 36_500
MAX_BACKDATING_DAYS = 3_650
MAX_POINT_VALUE = Decimal("999999.99")
MAX_CAP_MESSAGES = 1_000
MAX_CAP_DAYS = 365
_QUIET_HOURS = re.compile(r"([01]\d|2[0-3]):([0-5]\d)\s*[-–—]\s*([01]\d|2[0-3]):([0-5]\d)")
MAX_CONTROL_GROUP_PERCENT = Decimal(50)
_cache: tuple[float, dict] | None = None
# Sent by `change` inside its transaction: actor (who, as the ledger names them), user (the person, or None
# for an API key), moved ({name: [before, after]}).
changed = Signal()


def _saved() -> dict:
    """The non-empty fields of the saved row ({} when there is none, or no table yet during migrations)."""
    global _cache
    now = time.monotonic()
    if _cache is not None and now - _cache[0] < CACHE_SECONDS:
        return _cache[1]
    from kopilka.core.models import ProgrammeSettings

    try:
        row = ProgrammeSettings.objects.filter(pk=ProgrammeSettings.SINGLETON).values(*FIELDS.values()).first()
    except (DatabaseError, RuntimeError):  # no table yet (migrations), or no database allowed (pure unit tests)
        row = None
    saved = {name: row[field] for name, field in FIELDS.items() if row and row[field] not in (None, "")}
    _cache = (now, saved)
    return saved


def value(name: str):
    """The setting `name` in force: as saved on the screen, else from the environment."""
    saved = _saved()
    if name in saved:
        return saved[name]
    return environment(name)


def environment(name: str):
    """The setting `name` as the environment gives it (what an empty saved value falls back to)."""
    default = settings.KOPILKA.get(name)
    return Decimal(default) if name in DECIMALS and default is not None else default


def saved_value(name: str):
    """The setting `name` as saved on the screen, or None when it follows the environment."""
    return _saved().get(name)


def check(name: str, given: Any) -> Any:
    """`given` as the settings row stores it ("" or None: follow the environment), or ValidationFailed."""
    if name not in FIELDS:
        raise ValidationFailed(_("Unknown programme setting."), code="unknown_setting",
                               details={"field": name, "known": list(FIELDS)})
    if given is None or given == "":
        return None if name in DECIMALS or name in INTEGERS else ""
    return _RULES[name](given)


def _refuse(name: str, message, given: Any) -> NoReturn:
    raise ValidationFailed(message, code="invalid_setting",
                           details={"field": FIELDS[name], "value": str(given)})


def _time_zone(given: Any) -> str:
    name = given.strip() if isinstance(given, str) else given
    if not isinstance(name, str) or name not in zoneinfo.available_timezones():
        _refuse("TIME_ZONE", _("Unknown time zone; e.g. Europe/Moscow or Asia/Novosibirsk."), given)
    return name


def _one_of(name: str, allowed: tuple[str, ...], message):
    def rule(given: Any) -> str:
        if given not in allowed:
            _refuse(name, message, given)
        return given

    return rule


def _decimal(given: Any) -> Decimal | None:
    if isinstance(given, bool | float):
        return None  # floats are not money; a JSON number arrives as a Decimal or an int
    try:
        number = Decimal(str(given).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() and number == number.quantize(Decimal("0.01")) else None


def _percent(name: str):
    def rule(given: Any) -> Decimal:
        number = _decimal(given)
        if number is None or not 0 < number <= 100:
            _refuse(name, _("Between 0 and 100 percent."), given)
        return number

    return rule


def _lifetime(given: Any) -> int:
    if isinstance(given, bool) or not isinstance(given, int) or not 1 <= given <= MAX_LIFETIME_DAYS:
        _refuse("DEFAULT_LOT_LIFETIME_DAYS",
                _("Points live from 1 to %(max)d days.") % {"max": MAX_LIFETIME_DAYS}, given)
    return given


def _backdating(given: Any) -> int:
    if isinstance(given, bool) or not isinstance(given, int) or not 0 <= given <= MAX_BACKDATING_DAYS:
        _refuse("BACKDATING_DAYS",
                _("A receipt may be dated back 0 to %(max)d days.") % {"max": MAX_BACKDATING_DAYS}, given)
    return given


def _point_value(name: str):
    def rule(given: Any) -> Decimal:
        number = _decimal(given)
        if number is None or not 0 < number <= MAX_POINT_VALUE:
            _refuse(name, _("A point pays more than 0 ₽ and at most %(max)s ₽, in kopecks.")
                    % {"max": MAX_POINT_VALUE}, given)
        return number

    return rule


def quiet_hours_window(text: str) -> tuple[clock_time, clock_time] | None:
    """Quiet hours written "21:00-09:00" as (start, end) times of day; an end before the start runs past midnight.
    None: no quiet hours (nothing written, or a window of no length such as "00:00-00:00")."""
    found = _QUIET_HOURS.fullmatch(text.strip()) if text else None
    if found is None:
        return None
    start_h, start_m, end_h, end_m = (int(part) for part in found.groups())
    start, end = clock_time(start_h, start_m), clock_time(end_h, end_m)
    return None if start == end else (start, end)


def _quiet_hours(given: Any) -> str:
    text = given.strip() if isinstance(given, str) else ""
    found = _QUIET_HOURS.fullmatch(text)
    if found is None:
        _refuse("QUIET_HOURS", _("Quiet hours are written as two times of day, e.g. 21:00-09:00 "
                                 "(00:00-00:00: none)."), given)
    return "{}:{}-{}:{}".format(*found.groups())


def _whole_number(name: str, low: int, high: int, message):
    """A whole number from `low` to `high`; `message` names the range with %(max)d."""

    def rule(given: Any) -> int:
        if isinstance(given, bool) or not isinstance(given, int) or not low <= given <= high:
            _refuse(name, message % {"max": high}, given)
        return given

    return rule


def _public_url(given: Any) -> str:
    text = given.strip().rstrip("/") if isinstance(given, str) else ""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        _refuse("PUBLIC_URL", _("The public address is an http or https address without a query, e.g. "
                                "https://bonus.example.ru."), given)
    return text
def _control_group(given: Any) -> Decimal:
    number = _decimal(given)
    if number is None or not 0 <= number <= MAX_CONTROL_GROUP_PERCENT:
        _refuse("CONTROL_GROUP_PERCENT", _("The control group holds 0 to %(max)s percent of the members, in "
                                           "hundredths.") % {"max": MAX_CONTROL_GROUP_PERCENT}, given)
    return number


_RULES = {
    "TIME_ZONE": _time_zone,
    "REDEMPTION_ORDER": _one_of("REDEMPTION_ORDER", REDEMPTION_ORDERS, _("Unknown redemption order.")),
    "RETURN_POLICY": _one_of("RETURN_POLICY", RETURN_POLICIES, _("Unknown return policy.")),
    "RECEIPT_CAP_PERCENT": _percent("RECEIPT_CAP_PERCENT"),
    "LINE_CAP_PERCENT": _percent("LINE_CAP_PERCENT"),
    "DEFAULT_LOT_LIFETIME_DAYS": _lifetime,
    "POINT_VALUE": _point_value("POINT_VALUE"),
    "BACKDATING_DAYS": _backdating,
    "PARTNER_POINT_VALUE": _point_value("PARTNER_POINT_VALUE"),
    "PARTNER_CAP_PERCENT": _percent("PARTNER_CAP_PERCENT"),
    "QUIET_HOURS": _quiet_hours,
    "MARKETING_CAP_MESSAGES": _whole_number("MARKETING_CAP_MESSAGES", 1, MAX_CAP_MESSAGES,
                                            _("From 1 to %(max)d marketing messages.")),
    "MARKETING_CAP_DAYS": _whole_number("MARKETING_CAP_DAYS", 1, MAX_CAP_DAYS, _("A period of 1 to %(max)d days.")),
    "PUBLIC_URL": _public_url,
    "CONTROL_GROUP_PERCENT": _control_group,
}


def change(changes: Mapping[str, Any], *, actor: str, user=None) -> dict[str, list[str]]:
    """Save `changes` ({setting name: value}; "" or None follows the environment again), all or nothing, and
    send `changed`. Returns the values in force that moved, {name: [before, after]} as text."""
    from kopilka.core.models import ProgrammeSettings

    stored = {name: check(name, given) for name, given in changes.items()}
    with transaction.atomic():
        ProgrammeSettings.objects.get_or_create(pk=ProgrammeSettings.SINGLETON)
        row = ProgrammeSettings.objects.select_for_update().get(pk=ProgrammeSettings.SINGLETON)
        forget()
        before = {name: _text(value(name)) for name in FIELDS}
        for name, given in stored.items():
            setattr(row, FIELDS[name], given)
        row.updated_by = actor
        row.save()
        forget()
        after = {name: _text(value(name)) for name in FIELDS}
        moved = {name: [before[name], after[name]] for name in FIELDS if before[name] != after[name]}
        changed.send(sender=ProgrammeSettings, actor=actor, user=user, moved=moved)
    forget()
    return moved


def forget() -> None:
    """Drop the cache (after a save, and between tests)."""
    global _cache
    _cache = None


def _text(given: Any) -> str:
    return "" if given is None else str(given)
