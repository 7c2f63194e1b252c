"""The purchase flow over HTTP (SPEC §4.3–4.5), for tills, web shops and 1C:

    POST /evaluate               what a cart can spend and earns (no side effects)
    POST /                       place the order: points are held
    POST /{id}/pay | ship | complete | cancel
    POST /{id}/returns           return some lines (or all)
    GET  /{id}                   the order with its lines and points

Reads need `purchases:read`; writes need `purchases:write` and an `Idempotency-Key`.
"""

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Literal

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from pydantic import BaseModel

from kopilka.api.auth import scoped
from kopilka.api.base import api
from kopilka.api.common import (
    ERRORS,
    Amount,
    IdempotencyKey,
    MemberRef,
    OptionalAmount,
    Quantity,
    length_of,
    member_id_of,
)
from kopilka.api.evaluation import evaluation_json
from kopilka.api.idempotency import idempotent_write
from kopilka.api.order_answer import order_json
from kopilka.campaigns.banners import banners
from kopilka.core.errors import NotFound, ValidationFailed
from kopilka.customers.models import ExternalId, Region
from kopilka.orders.models import Order, OrderLine
from kopilka.purchases import flow
from kopilka.purchases.quote import CartItem, quote

router = Router(tags=["purchases"])

READ = "purchases:read"
WRITE = "purchases:write"
Money = Decimal
KOPECK = Decimal("0.01")
SKU = length_of(OrderLine, "sku")


# Request bodies are plain pydantic models: ninja's Schema adds reading from ORM objects, which a body never needs
# and which costs a validator call per line.


class LineIn(BaseModel):
    sku: str = Field(max_length=SKU)
    quantity: Quantity = Field(Decimal(1), gt=0, max_digits=12, decimal_places=3)
    price: Amount = Field(ge=0, max_digits=14, decimal_places=2)
    amount: OptionalAmount = Field(None, ge=0, max_digits=14, decimal_places=2, description="default quantity × price")


class CartIn(BaseModel):
    member: MemberRef | None = Field(None, description="None for a purchase of a non-member")
    lines: list[LineIn] = Field(min_length=1, max_length=flow.MAX_LINES)
    points: int | Literal["max"] = Field(0, description="points to spend: a number, or \"max\"")


class OrderIn(CartIn):
    order_id: str = Field(min_length=1, max_length=length_of(Order, "external_id"),
                          description="the order's id in the sending system")
    source: str = Field("pos", pattern=r"^[a-z0-9_-]{1,20}$", max_length=length_of(Order, "source"))
    purchased_at: datetime | None = None
    paid: bool = Field(False, description="already paid: books what it earns at once")
    offline: bool = Field(False, description="buffered by a till while offline: earns, never spends")
    region: str | None = Field(None, max_length=length_of(Region, "code"), description="the region's code")


class ReturnLineIn(BaseModel):
    line: int = Field(ge=1)
    quantity: Quantity = Field(gt=0, max_digits=12, decimal_places=3)


class ReturnIn(BaseModel):
    lines: list[ReturnLineIn] = Field(min_length=1)


# The evaluation's output models describe the answer for the API's documentation; the answer itself is built as
# JSON directly (`api.evaluation`): a till asks for an evaluation on every cart change.


class LineEffectOut(BaseModel):
    line: int
    sku: str
    amount: Money
    points: int = Field(description="points spent on the line")
    discount: Money
    to_pay: Money
    earns: dict[str, int] = Field(description="points the line earns, by scenario")


class LotDrawOut(BaseModel):
    lot_id: int
    line: int
    points: int
    campaign: str = Field(description="the campaign version whose rules the lot follows; empty: the programme's")


class EarnOut(BaseModel):
    campaign: str
    name: str
    scenario: str
    applies: bool
    desired: int
    points: int
    by_line: dict[int, int]
    explanation: str


class EvaluationOut(BaseModel):
    total: Money
    points_max: int
    points: int
    discount: Money
    to_pay: Money
    earns: dict[str, int]
    lines: list[LineEffectOut]
    spend: list[LotDrawOut]
    campaigns: list[EarnOut]


class OrderPointsOut(Schema):
    kind: str
    scenario: str
    campaign: str
    points: int
    entry_id: int


class OrderLineOut(Schema):
    line: int
    sku: str
    quantity: Decimal
    price: Money
    amount: Money
    discount: Money
    points: int
    returned_quantity: Decimal


class OrderOut(Schema):
    id: int
    source: str
    order_id: str
    member_id: int | None
    status: str
    purchased_at: datetime
    total: Money
    discount: Money
    points_spent: int
    offline: bool
    lines: list[OrderLineOut]
    points: list[OrderPointsOut]


def _items(lines: list[LineIn]) -> list[CartItem]:
    """Lines in kopecks: a line without an amount costs quantity × price, rounded half up."""
    return [
        CartItem(x.sku, x.quantity, x.price.quantize(KOPECK),
                 (x.amount if x.amount is not None else x.quantity * x.price).quantize(KOPECK, ROUND_HALF_UP))
        for x in lines
    ]


def _requested(points: int | str) -> int | None:
    if points == "max":
        return None
    if points < 0:
        raise ValidationFailed(_("Points to spend cannot be negative."), code="invalid_points")
    return points


def _order(order_id: int) -> Order:
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        raise NotFound(_("No such order."), code="order_not_found", details={"order_id": order_id})
    return order


class EarnTermOut(Schema):
    campaign: str
    name: str
    scenario: str
    percent: Decimal | None = Field(description="points per 100 ₽ of the price")
    points: int | None = Field(description="fixed points per purchase")
    min_order: Money


class BannerOut(Schema):
    sku: str
    earn: list[EarnTermOut]
    payable_percent: Decimal = Field(description="the most of the price the member's points may pay, %")
    points_available: int = Field(description="the member's points that may pay for this product")
    partner: bool = Field(description="a partner product of the redemption shop: points pay for it at the shop's "
                                      "rate and cap, outside the receipt's cap")
    point_value: Decimal | None = Field(description="roubles one point pays for a partner product")


@router.get("/banners", auth=scoped(READ), response={200: list[BannerOut], **ERRORS})
def product_banners(request: HttpRequest, sku: Query[list[Annotated[str, Field(max_length=SKU)]]],
                    member_id: int | None = None,
                    card: str | None = Query(None, max_length=length_of(ExternalId, "value"))):
    """For a member (by id or card number; none for a guest) and products, the campaign terms on each: what it
    earns, and how much of its price points may pay."""
    member = member_id_of(MemberRef(id=member_id) if member_id else MemberRef(system="card", value=card) if card
                          else None)
    return [
        {"sku": b.sku, "earn": [t.__dict__ for t in b.earn], "payable_percent": b.payable_percent,
         "points_available": b.points_available, "partner": b.partner, "point_value": b.point_value}
        for b in banners(member, sku)
    ]


@router.post("/evaluate", auth=scoped(READ), response={200: EvaluationOut, **ERRORS})
def evaluate(request: HttpRequest, body: CartIn):
    """What the cart can take in points (the optimum under every lot's rules), the discount per line, the lots
    the points come from, and what the purchase earns on payment and on shipment, with explanations."""
    result = quote(member_id_of(body.member), _items(body.lines), requested=_requested(body.points))
    return HttpResponse(evaluation_json(result), status=200, content_type=api.get_content_type())


@router.post("/", auth=scoped(WRITE), response={201: OrderOut, **ERRORS})
def place(request: HttpRequest, body: OrderIn, idempotency_key: str | None = IdempotencyKey):
    def work(principal):
        new = flow.NewOrder(
            source=body.source, external_id=body.order_id, items=_items(body.lines),
            member_id=member_id_of(body.member), points=_requested(body.points), purchased_at=body.purchased_at,
            paid=body.paid, offline=body.offline, region=body.region,
        )
        return 201, order_json(flow.place_order(new, actor=principal.actor))

    payload = body.model_dump(mode="json")
    return idempotent_write(request, idempotency_key, "purchases.place", payload, work)


@router.get("/{int:order_id}", auth=scoped(READ), response={200: OrderOut, **ERRORS})
def get_order(request: HttpRequest, order_id: int):
    return HttpResponse(order_json(_order(order_id)), status=200, content_type=api.get_content_type())


@router.post("/{int:order_id}/returns", auth=scoped(WRITE), response={200: OrderOut, **ERRORS})
def return_lines(request: HttpRequest, order_id: int, body: ReturnIn, idempotency_key: str | None = IdempotencyKey):
    """Takes back each returned line's share of what the order earned and gives back its share of the points
    spent, into the lots they came from."""

    def work(principal):
        quantities = {x.line: x.quantity for x in body.lines}
        order = flow.return_items(order_id, quantities, actor=principal.actor, key=idempotency_key or "")
        return 200, order_json(order)

    payload = {"order": order_id, **body.model_dump(mode="json")}
    return idempotent_write(request, idempotency_key, "purchases.return", payload, work)


@router.post("/{int:order_id}/{action}", auth=scoped(WRITE), response={200: OrderOut, **ERRORS})
def change_status(request: HttpRequest, order_id: int, action: Literal["pay", "ship", "complete", "cancel"],
                  idempotency_key: str | None = IdempotencyKey):
    """pay (books "on payment" points), ship ("on shipment" points), complete, or cancel (returns a paid order)."""
    step = {"pay": flow.pay, "ship": flow.ship, "complete": flow.complete, "cancel": flow.cancel}[action]

    def work(principal):
        return 200, order_json(step(order_id, actor=principal.actor))

    return idempotent_write(request, idempotency_key, f"purchases.{action}", {"order": order_id}, work)
