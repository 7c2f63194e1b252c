"""Event types through a service: created, renamed, retired (inactive) or brought back by code, in batches,
all or nothing (`core.reference_books`). Never deleted: events and campaign rules name them.

Invariant: an event type's code is what the events API accepts (`EVENT_TYPE_CODE`), so any type can be posted.
"""

import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.utils.translation import gettext_lazy as _

from kopilka.campaigns.models import EventType
from kopilka.core import reference_books
from kopilka.core.errors import ValidationFailed

EVENT_TYPE_CODE = r"^[a-z0-9_-]{1,30}$"


def upsert_event_types(items: Iterable[Mapping[str, Any]]) -> reference_books.Upserted:
    """Items: {"code", "name", "is_active"}."""
    return reference_books.upsert(EventType, items, fields=("name", "is_active"), check=_check)


def _check(index: int, item: dict) -> None:
    if not re.fullmatch(EVENT_TYPE_CODE, item["code"]):
        raise ValidationFailed(
            _("An event type's code is Latin lower-case letters, digits, “-” and “_”."),
            details={"item": index, "field": "code", "value": item["code"]},
        )
    reference_books.check_active(index, item)
