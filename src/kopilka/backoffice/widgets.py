"""Embeddable widgets: a signed link to one part of an analytics page that expires.

The token carries the kind, the parameters, the part and the moment it expires, signed with the site's secret
(a token changed by hand fails the signature); whoever has the link sees that part of the newest computed
snapshot for those parameters, nothing else.
"""

from datetime import timedelta

from django.core import signing

from kopilka.core import clock

SALT = "kopilka.analytics.widget"
DEFAULT_DAYS, MAX_DAYS = 30, 365


class WidgetRefused(Exception):
    pass


def lifetime_days(text: str | None) -> int:
    try:
        days = int(text or DEFAULT_DAYS)
    except ValueError:
        days = DEFAULT_DAYS
    return max(1, min(MAX_DAYS, days))


def issue(kind: str, params: dict, part: str, days: int) -> str:
    expires = clock.now() + timedelta(days=days)
    return signing.dumps({"k": kind, "p": params, "v": part, "e": int(expires.timestamp())}, salt=SALT, compress=True)


def read(token: str) -> tuple[str, dict, str]:
    """(kind, params, part) of a valid token; WidgetRefused when forged or expired."""
    try:
        data = signing.loads(token, salt=SALT)
    except signing.BadSignature as error:
        raise WidgetRefused("bad signature") from error
    if clock.now().timestamp() >= data["e"]:
        raise WidgetRefused("expired")
    return data["k"], data["p"], data["v"]
