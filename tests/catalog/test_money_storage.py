"""Money columns (DecimalField, 14 digits with 2 decimal places) keep every kopeck on both databases. SQLite stores
them as REAL, which is exact to 15 significant digits: the field's 14 always fit, and Django reads them back
rounded to 15 digits and quantized to kopecks. A larger amount does not fit the field and is refused."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from kopilka.catalog.models import MONEY, Product

AMOUNTS = ["999999999999.99", "123456789012.34", "100000000000.07", "987654321098.76", "0.01", "0.10", "0.29"]


@pytest.mark.django_db
def test_every_kopeck_of_the_largest_amounts_comes_back():
    assert MONEY["max_digits"] <= 15  # SQLite's REAL is exact to 15 significant digits, no further
    Product.objects.bulk_create(
        [Product(sku=f"P{n}", name=amount, price=Decimal(amount)) for n, amount in enumerate(AMOUNTS)]
    )

    stored = dict(Product.objects.values_list("name", "price"))

    assert {name: str(price) for name, price in stored.items()} == {amount: amount for amount in AMOUNTS}


def test_an_amount_beyond_the_fields_digits_is_refused():
    product = Product(sku="P", name="too dear", price=Decimal("12345678901234.56"))

    with pytest.raises(ValidationError) as refused:
        product.clean_fields()

    assert [error.code for error in refused.value.error_dict["price"]] == ["max_digits"]
