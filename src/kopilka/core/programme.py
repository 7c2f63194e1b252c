"""Programme settings an administrator changes on a screen (SPEC §6): the time zone, the redemption order, the
return policy, the receipt and line caps, the default lifetime of points, the worth of a point, how far back a
receipt may be dated and the redemption shop's terms.

One database row holds what was saved; a field left empty there takes its value from the environment
(`settings.KOPILKA`, see the README). Reads are cached per process for `CACHE_SECONDS`: another process sees a
change within that time, the process that saved it at once.
"""

import time
from decimal import Decimal

from django.conf import settings
from django.db import DatabaseError

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
}
DECIMALS = ("RECEIPT_CAP_PERCENT", "LINE_CAP_PERCENT", "POINT_VALUE", "PARTNER_POINT_VALUE", "PARTNER_CAP_PERCENT")
_cache: tuple[float, dict] | None = None


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
    default = settings.KOPILKA.get(name)
    return Decimal(default) if name in DECIMALS and default is not None else default


def forget() -> None:
    """Drop the cache (after a save, and between tests)."""
    global _cache
    _cache = None
