"""`kopilka analytics rfm --as-of DATE --unit day|week|month [--grid 3x3x3]`: the RFM summary per member with the
member's R, F and M scores and segment in the grid asked for."""

from django.utils.translation import gettext_lazy as _

from kopilka.analytics.data.scope import Scope
from kopilka.analytics.measures.rfm import summary
from kopilka.analytics.measures.scoring import grid
from kopilka.analytics.presentation.tables import Column, Table
from kopilka.analytics.reports.options import add_as_of, add_grid, add_unit

NAME = "rfm"
HELP = "frequency, recency, T and monetary value per member (BTYD definitions) with the RFM scores"


def add_arguments(parser) -> None:
    add_as_of(parser)
    add_unit(parser)
    add_grid(parser)


def run(options) -> Table:
    scores = grid(Scope(options.as_of, options.as_of), options.grid).member_scores()
    columns = [Column("customer_id", _("customer id")), Column("frequency", _("repeat purchases")),
               Column("recency", _("recency")), Column("T", _("age (T)")),
               Column("monetary_value", _("mean repeat purchase")), Column("r", "R"), Column("f", "F"),
               Column("m", "M"), Column("segment", _("segment"))]
    rows = [[s.customer_id, s.frequency, s.recency, s.T, s.monetary_value, *scores[s.member_id]]
            for s in summary(options.as_of, options.unit)]
    return Table("rfm", _("RFM summary"), columns, rows)
