"""Writing a reference book (tags, eligibility flags, event types, point categories, reason codes...): entries
named by a unique code, created or updated by a batch, all or nothing.

Invariants: every code is a slug within the model's length and appears once in a batch; every name has a
non-blank, stripped text within the model's length; a batch either writes every entry or none (one statement,
inside the caller's transaction when there is one). Each app keeps its own rules on top (`check` below).
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.utils.translation import gettext_lazy as _

from kopilka.core.errors import ValidationFailed, check_code


@dataclass(frozen=True)
class Upserted:
    created: list[str]
    updated: list[str]


def upsert(
    model: type[models.Model],
    items: Iterable[Mapping[str, Any]],
    *,
    fields: tuple[str, ...],
    check: Callable[[int, dict], None] | None = None,
) -> Upserted:
    """Create the entries of `items` whose code is new and set `fields` on the others, in one statement.

    Each item holds "code" and every name in `fields`; "name" is stripped. `check(index, item)` may refuse
    an item with ValidationFailed before anything is written. Refusals name the item by its index."""
    entries = [_checked(model, index, dict(item), fields, check) for index, item in enumerate(items)]
    if not entries:
        raise ValidationFailed(_("Give at least one entry."), code="nothing_to_write")
    codes = [entry["code"] for entry in entries]
    seen: dict[str, int] = {}
    for index, code in enumerate(codes):
        if code in seen:
            raise ValidationFailed(
                _("The code %(code)s appears twice in the batch.") % {"code": code}, code="duplicate_code",
                details={"item": index, "field": "code", "value": code, "first_item": seen[code]},
            )
        seen[code] = index
    with transaction.atomic():
        existing = set(
            model._default_manager.select_for_update().filter(code__in=codes).values_list("code", flat=True))
        model._default_manager.bulk_create(
            [model(**entry) for entry in entries],
            update_conflicts=True, unique_fields=["code"], update_fields=list(fields),
        )
    return Upserted(created=[c for c in codes if c not in existing],
                    updated=[c for c in codes if c in existing])


def check_active(index: int, item: Mapping[str, Any]) -> None:
    """A `check` for books whose entries retire instead of being deleted: "is_active" is true or false."""
    if not isinstance(item.get("is_active"), bool):
        raise ValidationFailed(_("Say whether the entry is active: true or false."),
                               details={"item": index, "field": "is_active", "value": item.get("is_active")})


def _checked(model, index: int, item: dict, fields: tuple[str, ...], check) -> dict:
    code = item.get("code")
    code_length = model._meta.get_field("code").max_length
    if not isinstance(code, str) or not code or len(code) > code_length:
        raise ValidationFailed(
            _("A code is 1 to %(max)d characters long.") % {"max": code_length},
            details={"item": index, "field": "code", "value": code},
        )
    try:
        check_code(code)
    except ValidationFailed as refused:
        refused.details["item"] = index
        raise
    if "name" in fields:
        name = item.get("name")
        name_length = model._meta.get_field("name").max_length
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > name_length:
            raise ValidationFailed(
                _("A name is 1 to %(max)d characters, not only spaces.") % {"max": name_length},
                details={"item": index, "field": "name", "value": name},
            )
        item["name"] = name.strip()
    if check is not None:
        check(index, item)
    return {"code": code, **{field: item[field] for field in fields}}
