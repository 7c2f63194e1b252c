"""Programme settings over HTTP (SPEC §6), as on the back office's screen `/office/settings/`: the values in
force, what was saved and what the environment gives; a change of some of them, audited
(`core.programme.change` announces it, the audit log records it).

Reading needs `programme:read`; changing needs `programme:write` (administrators) and an `Idempotency-Key`.
A value sent as null (or "" for a text) is forgotten: the environment's is in force again. One left out
is kept.
"""

import zoneinfo
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema
from pydantic import WithJsonSchema

from kopilka.api.auth import scoped
from kopilka.api.common import ERRORS, IdempotencyKey, length_of
from kopilka.api.idempotency import idempotent_write
from kopilka.core import programme
from kopilka.core.models import ProgrammeSettings

router = Router(tags=["programme"])

READ = "programme:read"
WRITE = "programme:write"
RedemptionOrder = Literal["category_fifo", "soonest_expiring"]
ReturnPolicy = Literal["take_available", "negative", "block"]
_ZONES = sorted(zoneinfo.available_timezones())
# More than 0, at most two decimal places, written as a JSON number or a string: up to 100 (percent) ...
PERCENT = r"^(100(\.00?)?|[1-9]\d?(\.\d\d?)?|0\.(0[1-9]|[1-9]\d?))$"
# ... or up to 999,999.99 (roubles).
ROUBLES = r"^([1-9]\d{0,5}(\.\d\d?)?|0\.(0[1-9]|[1-9]\d?))$"


def _money(maximum, pattern: str) -> dict:
    """The published schema of a positive amount with kopecks: exactly what the API then accepts."""
    return {"anyOf": [
        {"type": "number", "exclusiveMinimum": 0, "maximum": float(maximum), "multipleOf": 0.01},
        {"type": "string", "pattern": pattern, "maxLength": len(f"{maximum:.2f}")},
        {"type": "null"},
    ], "description": "null forgets the saved value"}


Percent = Annotated[Decimal | None, WithJsonSchema(_money(100, PERCENT))]
# The global control group: 0 (none) to 50 percent, in hundredths.
CONTROL_SHARE = r"^(50(\.00?)?|[1-4]?\d(\.\d\d?)?)$"
ControlShare = Annotated[Decimal | None, WithJsonSchema({"anyOf": [
    {"type": "number", "minimum": 0, "maximum": float(programme.MAX_CONTROL_GROUP_PERCENT), "multipleOf": 0.01},
    {"type": "string", "pattern": CONTROL_SHARE, "maxLength": 5},
    {"type": "null"},
], "description": "null forgets the saved value"})]
Roubles = Annotated[Decimal | None, WithJsonSchema(_money(programme.MAX_POINT_VALUE, ROUBLES))]


class SettingsOut(Schema):
    time_zone: str = Field(description="the programme's time zone (“end of day”, expiry dates)")
    redemption_order: RedemptionOrder
    return_policy: ReturnPolicy = Field(description="what a return does when its earned points were spent")
    receipt_cap_percent: Decimal = Field(description="the most of a receipt points may pay, percent")
    line_cap_percent: Decimal | None = Field(
        description="the most of any line points may pay, percent; null: no such cap")
    default_lot_lifetime_days: int = Field(description="how long points live unless a campaign says")
    point_value: Decimal = Field(description="roubles one point pays unless a campaign says")
    backdating_days: int = Field(
        description="how many days back a receipt may be dated (a till's offline buffer)")
    partner_point_value: Decimal = Field(description="roubles one point pays for a partner product")
    partner_cap_percent: Decimal = Field(
        description="the most of a partner product's line points may pay, percent")
    quiet_hours: str = Field(description="when marketing messages wait, in the member's time zone, e.g. "
                                         "21:00-09:00; 00:00-00:00: never")
    marketing_cap_messages: int = Field(description="marketing messages a member gets at most per channel ...")
    marketing_cap_days: int = Field(description="... in this many days")
    public_url: str = Field(description="the platform's address in links of messages; empty: not set")
    control_group_percent: Decimal = Field(
        description="the global control group, percent of the members (0: none); rotated monthly")


class SavedOut(Schema):
    """null: the setting follows the environment."""

    time_zone: str | None
    redemption_order: RedemptionOrder | None
    return_policy: ReturnPolicy | None
    receipt_cap_percent: Decimal | None
    line_cap_percent: Decimal | None
    default_lot_lifetime_days: int | None
    point_value: Decimal | None
    backdating_days: int | None
    partner_point_value: Decimal | None
    partner_cap_percent: Decimal | None
    quiet_hours: str | None
    marketing_cap_messages: int | None
    marketing_cap_days: int | None
    public_url: str | None
    control_group_percent: Decimal | None


class ProgrammeOut(Schema):
    in_force: SettingsOut
    saved: SavedOut
    environment: SettingsOut = Field(description="what a forgotten (null) setting falls back to")
    updated_at: datetime | None
    updated_by: str


class ProgrammeChangeOut(ProgrammeOut):
    changed: dict[str, list[str]] = Field(
        description="setting → [before, after] of the values in force that moved")


class ProgrammePatch(Schema):
    """Only the settings sent change; null (or "" for a text) forgets one: the environment's is in force
    again."""

    time_zone: str | None = Field(None, max_length=length_of(ProgrammeSettings, "time_zone"),
                                  json_schema_extra={"enum": [*_ZONES, "", None]},
                                  description="a time zone of the IANA database, e.g. Europe/Moscow")
    redemption_order: RedemptionOrder | Literal[""] | None = None
    return_policy: ReturnPolicy | Literal[""] | None = None
    receipt_cap_percent: Percent = Field(None, gt=0, le=100, max_digits=5, decimal_places=2)
    line_cap_percent: Percent = Field(None, gt=0, le=100, max_digits=5, decimal_places=2)
    default_lot_lifetime_days: int | None = Field(None, ge=1, le=programme.MAX_LIFETIME_DAYS)
    point_value: Roubles = Field(None, gt=0, le=programme.MAX_POINT_VALUE, max_digits=8, decimal_places=2)
    backdating_days: int | None = Field(None, ge=0, le=programme.MAX_BACKDATING_DAYS)
    partner_point_value: Roubles = Field(None, gt=0, le=programme.MAX_POINT_VALUE, max_digits=8,
                                         decimal_places=2)
    partner_cap_percent: Percent = Field(None, gt=0, le=100, max_digits=5, decimal_places=2)
    quiet_hours: str | None = Field(None, max_length=length_of(ProgrammeSettings, "quiet_hours"),
                                    pattern=r"^$|^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$",
                                    description="e.g. 21:00-09:00; 00:00-00:00: never")
    marketing_cap_messages: int | None = Field(None, ge=1, le=programme.MAX_CAP_MESSAGES)
    marketing_cap_days: int | None = Field(None, ge=1, le=programme.MAX_CAP_DAYS)
    public_url: str | None = Field(None, max_length=length_of(ProgrammeSettings, "public_url"),
                                   description="http(s) address without a query, e.g. https://bonus.example.ru")
    control_group_percent: ControlShare = Field(None, ge=0, le=programme.MAX_CONTROL_GROUP_PERCENT, max_digits=5,
                                                decimal_places=2)


_NAMES = {field: name for name, field in programme.FIELDS.items()}


def _settings() -> dict:
    row = ProgrammeSettings.objects.filter(pk=ProgrammeSettings.SINGLETON).first()
    return {
        "in_force": {field: programme.value(name) for name, field in programme.FIELDS.items()},
        "saved": {field: programme.saved_value(name) for name, field in programme.FIELDS.items()},
        "environment": {field: programme.environment(name) for name, field in programme.FIELDS.items()},
        "updated_at": row.updated_at if row else None,
        "updated_by": row.updated_by if row else "",
    }


@router.get("/settings", auth=scoped(READ), response={200: ProgrammeOut, **ERRORS})
def get_settings(request: HttpRequest):
    return _settings()


@router.patch("/settings", auth=scoped(WRITE), response={200: ProgrammeChangeOut, **ERRORS})
def patch_settings(request: HttpRequest, body: ProgrammePatch, idempotency_key: str | None = IdempotencyKey):
    """Changes the settings sent, all or nothing; the change is in the audit log under the caller's name."""
    changes = {_NAMES[field]: given for field, given in body.model_dump(exclude_unset=True).items()}

    def work(principal):
        moved = programme.change(changes, actor=principal.actor, user=principal.user)
        changed = {programme.FIELDS[name]: values for name, values in moved.items()}
        return 200, {**_settings(), "changed": changed}

    payload = body.model_dump(mode="json", exclude_unset=True)
    return idempotent_write(request, idempotency_key, "programme.settings", payload, work)
