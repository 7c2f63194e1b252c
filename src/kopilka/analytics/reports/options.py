"""Arguments the analytics reports share on the command line."""

import argparse
from datetime import date
from decimal import Decimal, InvalidOperation

from kopilka.analytics.measures.rfm import UNITS


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text}") from error


def percent(text: str) -> Decimal:
    """A percentage as given ("20", "-5", "4.5"), exact."""
    try:
        value = Decimal(text)
    except InvalidOperation as error:
        raise argparse.ArgumentTypeError(f"not a number of percent: {text}") from error
    if not value.is_finite():
        raise argparse.ArgumentTypeError(f"not a number of percent: {text}")
    return value


def add_as_of(parser) -> None:
    parser.add_argument("--as-of", type=iso_date, required=True, help="the date of the report, YYYY-MM-DD")


def add_unit(parser) -> None:
    parser.add_argument("--unit", choices=list(UNITS), default="day", help="the unit of time (day, week, 30-day month)")


def add_grid(parser) -> None:
    from kopilka.analytics.measures.scoring import SCHEMES

    parser.add_argument("--grid", choices=list(SCHEMES), default="3x3x3", help="the RFM grid: terciles or quintiles")


def add_scope(parser) -> None:
    """--from/--to (programme days, both included) and the member filters of analytics.data.scope."""
    parser.add_argument("--from", dest="start", type=iso_date, required=True, help="the first day, YYYY-MM-DD")
    parser.add_argument("--to", dest="end", type=iso_date, required=True, help="the last day, YYYY-MM-DD")
    parser.add_argument("--region", default="", help="region code")
    parser.add_argument("--kind", default="", help="member kind: individual or legal_entity")
    parser.add_argument("--tier", default="", help="tier code")
    parser.add_argument("--source", default="", help="registration source")
    parser.add_argument("--campaign", default="", help="campaign code")


def scope_of(options):
    from kopilka.analytics.data.scope import FILTERS, Scope

    return Scope(options.start, options.end, **{name: getattr(options, name) for name in FILTERS})
