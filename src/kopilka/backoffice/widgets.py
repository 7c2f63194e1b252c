"""Embeddable widgets: a stored link to one part of an analytics page, for at most MAX_DAYS.

A link's token is `<id>.<secret>`: the secret is 32 random bytes of the link's own (it does not rest on the site's
secret key, so knowing that key forges nothing) and is stored only as its SHA-256. Whoever has the link sees that
part of the newest computed snapshot for its parameters, nothing else, until the link expires or is revoked.
Only parts named as aggregates are embeddable (an allow-list: a new part, member-level or not, is shown in the back
office only until it is named here); tables that list members one by one never are.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.db import transaction

from kopilka.backoffice.models import WidgetLink
from kopilka.core import audit, clock

DEFAULT_DAYS, MAX_DAYS = 30, 90
# Parts that show the programme in aggregate (sums, shares, segments, unnamed points): embeddable.
AGGREGATE = frozenset({
    "kpis", "chart:sales", "chart:points", "chart:sources", "table:kpi", "table:members-vs-non-members", "chart:cut",
    "heatmap", "table:rfm-segments", "table:rfm-grid", "chart:picture", "table:clusters", "chart:p_alive",
    "table:clv-parameters", "table:cohorts-share", "chart:classes", "table:levers",
})
# Parts that list members one by one: shown in the back office, never through a link.
MEMBER_LEVEL = frozenset({"table:clv-top-members", "table:abc-members"})


class WidgetRefused(Exception):
    pass


def lifetime_days(text: str | None) -> int:
    try:
        days = int(text or DEFAULT_DAYS)
    except ValueError:
        days = DEFAULT_DAYS
    return max(1, min(MAX_DAYS, days))


def embeddable(part: str) -> bool:
    return part in AGGREGATE


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue(user, kind: str, params: dict, part: str, days: int, *, summary: str) -> tuple[WidgetLink, str]:
    """A new link and its token (shown once: only the secret's hash is kept), audited in the same transaction."""
    if not embeddable(part):
        raise WidgetRefused("member-level")
    secret, now = secrets.token_urlsafe(32), clock.now()
    with transaction.atomic():
        link = WidgetLink.objects.create(kind=kind, params=params, part=part, secret_sha256=_digest(secret),
                                         created_by=user, created_at=now,
                                         expires_at=now + timedelta(days=min(days, MAX_DAYS)))
        audit.record(user, "analytics.shared", summary, target=f"widget:{link.pk}",
                     details={"kind": kind, "params": params, "part": part, "days": days})
    return link, f"{link.pk}.{secret}"


def read(token: str) -> WidgetLink:
    """The link of a valid token; WidgetRefused when unknown, forged, revoked or expired."""
    number, _dot, secret = token.partition(".")
    link = WidgetLink.objects.filter(pk=int(number)).first() if number.isdigit() and secret else None
    if link is None or not hmac.compare_digest(link.secret_sha256, _digest(secret)):
        raise WidgetRefused("unknown")
    if link.revoked_at is not None:
        raise WidgetRefused("revoked")
    if clock.now() >= link.expires_at:
        raise WidgetRefused("expired")
    return link


def revoke(user, link_id: int, *, summary: str) -> bool:
    """Revoke a link (audited with it); False when it was revoked already."""
    with transaction.atomic():
        revoked = WidgetLink.objects.filter(pk=link_id, revoked_at=None).update(revoked_at=clock.now(),
                                                                              revoked_by=user)
        if revoked:
            audit.record(user, "analytics.widget_revoked", summary, target=f"widget:{link_id}")
    return bool(revoked)
