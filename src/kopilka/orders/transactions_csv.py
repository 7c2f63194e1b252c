"""Reading and checking a purchase history CSV, one row at a time (no database access, bounded memory).

The file: UTF-8 with or without BOM; `,` or `;` as delimiter (whichever the header line has more of); a header
line naming the columns, in any order. Required: customer_id, purchased_at, amount. Optional: order_id, sku,
quantity, price, region. Each following row is one receipt line:
- customer_id: the customer's id in the source system; empty for a purchase of a non-member;
- purchased_at: YYYY-MM-DD or DD.MM.YYYY, optionally with a time HH:MM[:SS] (ISO 8601 with an offset too);
  a value without an offset is read in the programme's time zone;
- amount: what the line cost, ≥ 0 and < 10^12, at most two decimal places, `.` or `,` as decimal separator;
- order_id: rows sharing it form one order; a row without it is an order of its own;
- quantity > 0 (default 1), price ≥ 0 (default: the amount), region: the two-digit code of a region.
Line numbers are those of the file, the header being line 1.
"""

import codecs
import csv
import hashlib
import itertools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

from django.utils.translation import gettext_lazy as _

from kopilka.core.clock import make_aware, programme_tz

REQUIRED_COLUMNS = ("customer_id", "purchased_at", "amount")
OPTIONAL_COLUMNS = ("order_id", "sku", "quantity", "price", "region")
ALL_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS

# Order keys of rows without an order id start with this prefix; an order id in a file may not.
GENERATED_KEY_PREFIX = "row:"
MAX_ID_LENGTH = 100
MAX_SKU_LENGTH = 64
MONEY_LIMIT = Decimal(10) ** 12
QUANTITY_LIMIT = Decimal(10) ** 9
EARLIEST_PURCHASE_YEAR = 1990
# Tolerance for clocks and time zones when refusing purchases dated in the future.
FUTURE_TOLERANCE = timedelta(days=1)

_NUMBER = re.compile(r"[+-]?(\d+[.,]?\d*|[.,]\d+)")
_GROUP_SEPARATORS = str.maketrans("", "", " \u00a0\u202f")
_DOTTED_MOMENT = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_SHOWN_VALUE_LENGTH = 60


@dataclass(frozen=True)
class RowError:
    """One problem of a file: where (line, column; the column is empty for the whole row), the value, and what
    is wrong (a lazy message with its parameters, so it is translated when shown)."""

    line: int
    column: str
    value: str
    problem: Any
    params: dict | None = None

    @property
    def problem_text(self) -> str:
        return str(self.problem) % self.params if self.params else str(self.problem)

    def __str__(self) -> str:
        value = (
            self.value if len(self.value) <= _SHOWN_VALUE_LENGTH else self.value[:_SHOWN_VALUE_LENGTH] + "…"
        )
        if self.column:
            return str(_("line %(line)s, column %(column)s, value “%(value)s”: %(problem)s")) % {
                "line": self.line,
                "column": self.column,
                "value": value,
                "problem": self.problem_text,
            }
        return str(_("line %(line)s: %(problem)s")) % {"line": self.line, "problem": self.problem_text}

    def as_dict(self) -> dict:
        return {"line": self.line, "column": self.column, "value": self.value, "problem": self.problem_text}


@dataclass(frozen=True, slots=True)
class PurchaseRow:
    """A checked row. Money in kopecks, quantity in thousandths; `order_id` empty when the file had none."""

    line: int
    order_id: str
    customer_id: str
    purchased_at: datetime
    amount_kopecks: int
    sku: str
    quantity_thousandths: int
    price_kopecks: int
    region_code: str
    region_id: int | None

    def content_key(self) -> str:
        """A hash of everything the row says, the same however the file spelled it (`;` or `,`, `12,5` or
        `12.50`, a default quantity or an explicit 1)."""
        parts = (
            self.customer_id,
            self.purchased_at.astimezone(UTC).isoformat(),
            str(self.amount_kopecks),
            self.sku,
            str(self.quantity_thousandths),
            str(self.price_kopecks),
            self.region_code,
        )
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


class _NotUtf8(Exception):
    def __init__(self, line: int):
        self.line = line


class TransactionsFile:
    """One streaming pass over a purchase history CSV: `parse()` yields (row, errors) pairs, then `sha256` is
    the hash of the whole file (if the pass was read to the end)."""

    def __init__(self, path: Path, regions: Mapping[str, int], now: datetime):
        self.path = path
        self.regions = regions
        self.latest_allowed = now + FUTURE_TOLERANCE
        self.earliest_allowed = make_aware(datetime(EARLIEST_PURCHASE_YEAR, 1, 1))
        self._digest = hashlib.sha256()

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    def parse(self) -> Iterator[tuple[PurchaseRow | None, list[RowError]]]:
        """Yields (row, []) for a good row and (None, errors) for a bad one. A bad header, a line that is not
        UTF-8 or not CSV yields its errors and ends the pass: nothing after it can be read reliably."""
        self._digest = hashlib.sha256()
        with open(self.path, "rb") as binary:
            try:
                yield from self._parse_lines(self._decoded_lines(binary))
            except _NotUtf8 as error:
                yield (
                    None,
                    [RowError(error.line, "", "", _("The line is not valid UTF-8; save the file as UTF-8."))],
                )

    def _decoded_lines(self, binary: Iterable[bytes]) -> Iterator[str]:
        """The file's lines as text, each decoded on its own so a bad byte is reported on its own line."""
        for number, raw in enumerate(binary, start=1):
            self._digest.update(raw)
            try:
                yield (raw.removeprefix(codecs.BOM_UTF8) if number == 1 else raw).decode()
            except UnicodeDecodeError as error:
                raise _NotUtf8(number) from error

    def _parse_lines(self, lines: Iterator[str]) -> Iterator[tuple[PurchaseRow | None, list[RowError]]]:
        header_line = next(lines, "")
        if not header_line.strip():
            yield None, [RowError(1, "", "", _("The file is empty: a header line is required."))]
            return
        delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
        reader = csv.reader(itertools.chain([header_line], lines), delimiter=delimiter)
        header = [name.strip().lower() for name in next(reader)]
        header_errors = _check_header(header)
        if header_errors:
            yield None, header_errors
            return
        positions = {name: header.index(name) for name in header}
        while True:
            line = reader.line_num + 1
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                problem = _("The line is not valid CSV: %(error)s")
                yield None, [RowError(line, "", "", problem, {"error": str(error)})]
                return
            if not any(field.strip() for field in fields):
                continue
            if len(fields) != len(header):
                problem = _("Expected %(expected)s values, found %(found)s.")
                yield None, [RowError(line, "", "", problem, {"expected": len(header), "found": len(fields)})]
                continue
            yield self._parse_row(line, {name: fields[index].strip() for name, index in positions.items()})

    def _parse_row(self, line: int, values: dict[str, str]) -> tuple[PurchaseRow | None, list[RowError]]:
        errors: list[RowError] = []

        def error(column: str, problem: Any, params: dict | None = None) -> None:
            errors.append(RowError(line, column, values.get(column, ""), problem, params))

        customer_id = values["customer_id"]
        if len(customer_id) > MAX_ID_LENGTH:
            error("customer_id", *_too_long(MAX_ID_LENGTH))
        order_id = values.get("order_id", "")
        if len(order_id) > MAX_ID_LENGTH:
            error("order_id", *_too_long(MAX_ID_LENGTH))
        elif order_id.startswith(GENERATED_KEY_PREFIX):
            error(
                "order_id",
                _("Order ids starting with “%(prefix)s” are reserved."),
                {"prefix": GENERATED_KEY_PREFIX},
            )
        sku = values.get("sku", "")
        if len(sku) > MAX_SKU_LENGTH:
            error("sku", *_too_long(MAX_SKU_LENGTH))

        purchased_at = self._moment(values["purchased_at"], partial(error, "purchased_at"))
        amount = _money(values["amount"], required=True, report=partial(error, "amount"))
        price = _money(values.get("price", ""), required=False, report=partial(error, "price"))
        quantity = _quantity(values.get("quantity", ""), report=partial(error, "quantity"))
        region_code, region_id = self._region(values.get("region", ""), partial(error, "region"))

        if errors:
            return None, errors
        return (
            PurchaseRow(
                line=line,
                order_id=order_id,
                customer_id=customer_id,
                purchased_at=purchased_at,
                amount_kopecks=int(amount * 100),
                sku=sku,
                quantity_thousandths=int((quantity if quantity is not None else 1) * 1000),
                price_kopecks=int((price if price is not None else amount) * 100),
                region_code=region_code,
                region_id=region_id,
            ),
            [],
        )

    def _moment(self, text: str, report) -> datetime | None:
        if not text:
            report(_("A value is required."))
            return None
        moment = parse_moment(text)
        if moment is None:
            report(_("Not a date; use YYYY-MM-DD or DD.MM.YYYY, optionally with a time HH:MM[:SS]."))
        elif moment > self.latest_allowed:
            report(_("The purchase date is in the future."))
        elif moment < self.earliest_allowed:
            report(_("The purchase date is before %(year)s."), {"year": EARLIEST_PURCHASE_YEAR})
        else:
            return moment
        return None

    def _region(self, text: str, report) -> tuple[str, int | None]:
        if not text:
            return "", None
        code = text.zfill(2) if text.isdigit() else text
        region_id = self.regions.get(code)
        if region_id is None:
            report(_("Unknown region code."))
        return code, region_id


def _check_header(header: list[str]) -> list[RowError]:
    errors = [
        RowError(1, name, name, _("The column appears more than once."))
        for index, name in enumerate(header)
        if name in header[:index]
    ]
    errors += [
        RowError(
            1,
            name,
            name,
            _("Unknown column; the columns are: %(columns)s."),
            {"columns": ", ".join(ALL_COLUMNS)},
        )
        for name in header
        if name not in ALL_COLUMNS
    ]
    errors += [
        RowError(1, name, "", _("The required column is missing."))
        for name in REQUIRED_COLUMNS
        if name not in header
    ]
    return errors


def parse_moment(text: str) -> datetime | None:
    """An aware datetime from ISO 8601 or DD.MM.YYYY[ HH:MM[:SS]]; None if the text is neither."""
    dotted = _DOTTED_MOMENT.fullmatch(text)
    try:
        if dotted:
            day, month, year, hour, minute, second = (int(part) if part else 0 for part in dotted.groups())
            moment = datetime(year, month, day, hour, minute, second)
        else:
            moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return make_aware(moment)


def parse_decimal(text: str) -> Decimal | None:
    """A plain decimal number with `.` or `,` as separator and spaces between digit groups; None otherwise
    (no exponents, no NaN or infinity)."""
    cleaned = text.translate(_GROUP_SEPARATORS)
    if not _NUMBER.fullmatch(cleaned):
        return None
    return Decimal(cleaned.replace(",", "."))


def _money(text: str, *, required: bool, report) -> Decimal | None:
    if not text:
        if required:
            report(_("A value is required."))
        return None
    value = parse_decimal(text)
    if value is None:
        report(_("Not a number."))
    elif value < 0:
        report(_("The value must not be negative."))
    elif value >= MONEY_LIMIT:
        report(*_too_large(MONEY_LIMIT))
    elif value != value.quantize(Decimal("0.01")):
        report(*_places(2))
    else:
        return value
    return None


def _quantity(text: str, *, report) -> Decimal | None:
    if not text:
        return None
    value = parse_decimal(text)
    if value is None:
        report(_("Not a number."))
    elif value <= 0:
        report(_("The value must be greater than zero."))
    elif value >= QUANTITY_LIMIT:
        report(*_too_large(QUANTITY_LIMIT))
    elif value != value.quantize(Decimal("0.001")):
        report(*_places(3))
    else:
        return value
    return None


def _too_long(limit: int) -> tuple[Any, dict]:
    return _("Too long; at most %(limit)s characters."), {"limit": limit}


def _too_large(limit: Decimal) -> tuple[Any, dict]:
    return _("Too large; the value must be less than %(limit)s."), {
        "limit": f"{limit:,.0f}".replace(",", " ")
    }


def _places(places: int) -> tuple[Any, dict]:
    return _("At most %(places)s decimal places."), {"places": places}


def local_text(moment: datetime) -> str:
    """How a moment is shown in reports: the programme's local time."""
    return moment.astimezone(programme_tz()).strftime("%Y-%m-%d %H:%M:%S")
