"""`kopilka analytics rfm --as-of DATE --unit day|week|month`: the RFM summary per member."""

from django.utils.translation import gettext_lazy as _

from kopilka.analytics.options import add_as_of, add_unit
from kopilka.analytics.rfm import summary
from kopilka.analytics.tables import Column, Table

NAME = "rfm"
HELP = "frequency, recency, T and monetary value per member (BTYD definitions)"


def add_arguments(parser) -> None:
    add_as_of(parser)
    add_unit(parser)


def run(options) -> Table:
    columns = [Column("customer_id", _("customer id")), Column("frequency", _("repeat purchases")),
               Column("recency", _("recency")), Column("T", _("age (T)")),
               Column("monetary_value", _("mean repeat purchase"))]
    rows = [[s.customer_id, s.frequency, s.recency, s.T, s.monetary_value] for s in summary(options.as_of, options.unit)]
    return Table("rfm", _("RFM summary"), columns, rows)
