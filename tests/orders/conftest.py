"""Files, regions and database snapshots shared by the purchase import tests."""

from collections.abc import Callable
from pathlib import Path

import pytest
from django.utils import translation

from kopilka.customers.models import ExternalId, Member, Region
from kopilka.orders.models import ImportBatch, ImportRow, Order, OrderLine

HEADER = "customer_id,purchased_at,amount,order_id,sku,quantity,price,region"


@pytest.fixture(autouse=True)
def english():
    """Messages are asserted in English, whatever translations the deployment carries."""
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def moscow_time(settings):
    """Naive times in files are read in the programme's time zone, which the tests fix to Moscow (UTC+3)."""
    settings.KOPILKA = {**settings.KOPILKA, "TIME_ZONE": "Europe/Moscow"}


@pytest.fixture
def regions(db) -> dict[str, Region]:
    """Regions 07, 77 and 78, whether or not the reference data is loaded."""
    return {
        code: Region.objects.get_or_create(code=code, defaults={"name": f"Region {code}", "time_zone": tz})[0]
        for code, tz in (("07", "Europe/Moscow"), ("77", "Europe/Moscow"), ("78", "Europe/Moscow"))
    }


@pytest.fixture
def write_csv(tmp_path) -> Callable[..., Path]:
    """Writes lines to a CSV file under tmp_path: `write_csv("a.csv", HEADER, "row", ...)`."""

    def write(name: str, *lines: str, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_text("\n".join(lines) + "\n", encoding=encoding)
        return path

    return write


def table_counts() -> dict[str, int]:
    """Rows in every table an import writes to, to prove a refusal changed nothing."""
    return {
        model.__name__: model.objects.count()
        for model in (Member, ExternalId, Order, OrderLine, ImportBatch, ImportRow)
    }
