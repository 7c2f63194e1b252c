"""`kopilka analytics rfm-grid --as-of DATE [--grid 3x3x3] [--by cell|segment]`: the RFM grid's per-cell (or
per-segment) figures."""

from kopilka.analytics.data.scope import Scope
from kopilka.analytics.measures.scoring import grid
from kopilka.analytics.presentation.tables import Table
from kopilka.analytics.reports.options import add_as_of, add_grid

NAME = "rfm-grid"
HELP = "members, revenue, visits, recency, spend per visit, gender and age per RFM cell or segment"


def add_arguments(parser) -> None:
    add_as_of(parser)
    add_grid(parser)
    parser.add_argument("--by", choices=["cell", "segment"], default="cell")


def run(options) -> Table:
    scored = grid(Scope(options.as_of, options.as_of), options.grid)
    return scored.cell_table() if options.by == "cell" else scored.segment_table()
