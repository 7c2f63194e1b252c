"""Reference books over HTTP: tags, eligibility flags, event types, point categories and reason codes.

Every book has the same three operations: `GET /{book}` lists its entries; `PUT /{book}/{code}` creates an
entry (201) or replaces it (200); `POST /{book}` creates or replaces a batch of up to 500, all or nothing.
Reads need `reference:read`; writes need `reference:write` and an `Idempotency-Key`. Nothing is deleted
(members, lots, entries and campaign rules name the entries): event types and reason codes retire with
`"is_active": false`.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from django.db import models
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Path, Router, Schema
from pydantic import WithJsonSchema, create_model

from kopilka.api.auth import scoped
from kopilka.api.common import ERRORS, IdempotencyKey
from kopilka.api.idempotency import idempotent_write
from kopilka.campaigns.models import EventType
from kopilka.campaigns.reference_books import EVENT_TYPE_CODE, upsert_event_types
from kopilka.core import audit
from kopilka.core.reference_books import Upserted
from kopilka.customers.models import EligibilityFlag, Tag
from kopilka.customers.reference_books import upsert_eligibility_flags, upsert_tags
from kopilka.ledger import reference
from kopilka.ledger.models import LotCategory, ReasonCode
from kopilka.ledger.reference_books import MAX_RANK, upsert_lot_categories, upsert_reason_codes

router = Router(tags=["reference books"])

READ = "reference:read"
WRITE = "reference:write"
MAX_BATCH = 500
SLUG = r"^[-a-zA-Z0-9_]+$"
HAS_TEXT = r"\S"  # a name is not only spaces


@dataclass(frozen=True)
class CodeRules:
    """What a book's code may be, said once for a code in a body and in the path."""

    max_length: int
    pattern: str = SLUG
    reserved: tuple[str, ...] = ()

    @property
    def schema(self) -> dict:
        found = {"type": "string", "minLength": 1, "maxLength": self.max_length, "pattern": self.pattern}
        return {**found, "not": {"enum": list(self.reserved)}} if self.reserved else found

    def field(self) -> Any:
        extra = {"json_schema_extra": {"not": {"enum": list(self.reserved)}}} if self.reserved else {}
        return Field(min_length=1, max_length=self.max_length, pattern=self.pattern, **extra)

    def path(self) -> Any:
        return Path(min_length=1, max_length=self.max_length, pattern=self.pattern)


def _name(max_length: int) -> Any:
    return Field(min_length=1, max_length=max_length, pattern=HAS_TEXT,
                 description="stored without the spaces around it")


TAG, FLAG, EVENT_TYPE = CodeRules(60), CodeRules(60), CodeRules(30, EVENT_TYPE_CODE)
CATEGORY, REASON = CodeRules(40, reserved=(reference.DEBT,)), CodeRules(40)


# --- schemas: an entry without its code (PUT's body), with it (a batch item, a row of a listing) ------------


class TagIn(Schema):
    name: str = _name(120)


class TagItem(TagIn):
    code: str = TAG.field()


class FlagIn(Schema):
    name: str = _name(120)


class FlagItem(FlagIn):
    code: str = FLAG.field()


class EventTypeIn(Schema):
    name: str = _name(120)
    is_active: bool = Field(True, description="false retires the type: events of it earn nothing new")


class EventTypeItem(EventTypeIn):
    code: str = EVENT_TYPE.field()


class CategoryIn(Schema):
    name: str = _name(100)
    redemption_rank: int = Field(ge=0, le=MAX_RANK, description=(
        "under the default redemption order, categories of a lower rank are spent first"))


class CategoryItem(CategoryIn):
    code: str = CATEGORY.field()


class CategoryOut(CategoryIn):
    code: str = Field(description="“debt” is the ledger's own record of points owed: listed, never written")


class ReasonIn(Schema):
    name: str = _name(150)
    is_active: bool = Field(True, description="false retires the reason: new manual operations cannot use it")


class ReasonItem(ReasonIn):
    code: str = REASON.field()


class UpsertedOut(Schema):
    created: list[str] = Field(description="codes of the new entries, in the batch's order")
    updated: list[str] = Field(description="codes of the entries replaced")


# --- the books ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Book:
    path: str
    what: str
    model: type[models.Model]
    fields: tuple[str, ...]
    code: CodeRules
    entry_in: type[Schema]
    item: type[Schema]
    upsert: Callable[[list[dict]], Upserted]
    out: type[Schema] | None = None  # when a listing shows more than may be written (default: `item`)
    order: tuple[str, ...] = ("code",)


BOOKS = [
    Book("tags", "tag", Tag, ("name",), TAG, TagIn, TagItem, upsert_tags),
    Book("eligibility-flags", "eligibility flag", EligibilityFlag, ("name",), FLAG, FlagIn, FlagItem,
         upsert_eligibility_flags),
    Book("event-types", "event type", EventType, ("name", "is_active"), EVENT_TYPE, EventTypeIn,
         EventTypeItem, upsert_event_types),
    Book("lot-categories", "point category", LotCategory, ("name", "redemption_rank"), CATEGORY, CategoryIn,
         CategoryItem, upsert_lot_categories, out=CategoryOut, order=("redemption_rank", "code")),
    Book("reason-codes", "reason code", ReasonCode, ("name", "is_active"), REASON, ReasonIn, ReasonItem,
         upsert_reason_codes),
]


def _rows(book: Book, codes: list[str] | None = None) -> list[dict]:
    query = book.model.objects.order_by(*book.order)
    if codes is not None:
        query = query.filter(code__in=codes)
    return list(query.values("code", *book.fields))


def _mount(book: Book) -> None:
    """The book's three routes, with its own schemas so that the published document types every field."""
    operation = book.path.replace("-", "_")
    out = book.out or book.item
    batch = create_model(f"{book.item.__name__}Batch", __base__=Schema,
                         items=(list[book.item], Field(min_length=1, max_length=MAX_BATCH)))
    code_in_path = Annotated[str, WithJsonSchema(book.code.schema)]
    code_param = book.code.path()

    @router.get(f"/{book.path}", auth=scoped(READ), response={200: list[out], **ERRORS},
                operation_id=f"list_{operation}",
                summary=f"List every {book.what}")
    def listing(request: HttpRequest):
        return _rows(book)

    @router.put(f"/{book.path}/{{code}}", auth=scoped(WRITE), response={200: out, 201: out, **ERRORS},
                operation_id=f"put_{operation}", summary=f"Create (201) or replace (200) a {book.what}")
    def put(request: HttpRequest, body: book.entry_in, code: code_in_path = code_param,
            idempotency_key: str | None = IdempotencyKey):
        def work(principal):
            done = book.upsert([{"code": code, **body.model_dump()}])
            _audit(principal, book, done)
            return (201 if done.created else 200), _rows(book, [code])[0]

        payload = {"code": code, **body.model_dump()}
        return idempotent_write(request, idempotency_key, f"reference.{book.path}", payload, work)

    @router.post(f"/{book.path}", auth=scoped(WRITE), response={200: UpsertedOut, **ERRORS},
                 operation_id=f"upsert_{operation}",
                 summary=f"Create or replace up to {MAX_BATCH} {book.what} entries, all or nothing")
    def upsert_batch(request: HttpRequest, body: batch, idempotency_key: str | None = IdempotencyKey):
        def work(principal):
            done = book.upsert([item.model_dump() for item in body.items])
            _audit(principal, book, done)
            return 200, {"created": done.created, "updated": done.updated}

        endpoint = f"reference.{book.path}.batch"
        return idempotent_write(request, idempotency_key, endpoint, body.model_dump(), work)


def _audit(principal, book: Book, done: Upserted) -> None:
    summary = _("Reference book %(book)s: %(created)d new, %(updated)d replaced.") % {
        "book": book.path, "created": len(done.created), "updated": len(done.updated)}
    audit.record(None, f"reference.{book.path}.saved", summary, actor=principal.actor, target=f"reference:{book.path}",
                 details={"created": done.created[:100], "updated": done.updated[:100]})


for _book in BOOKS:
    _mount(_book)
