"""`kopilka analytics cohorts --from DATE --to DATE [--by month|week] [--basis purchase|registration]
[--value share|members|revenue] [filters]`: cohort retention, one row per cohort, a column per period offset."""

from kopilka.analytics.measures.cohorts import BASES, GRANULARITIES, VALUES, retention
from kopilka.analytics.presentation.tables import Table
from kopilka.analytics.reports.options import add_scope, scope_of

NAME = "cohorts"
HELP = "cohort retention by month or week of the first purchase (or of registration)"


def add_arguments(parser) -> None:
    add_scope(parser)
    parser.add_argument("--by", choices=GRANULARITIES, default="month", help="cohorts and periods: month or week")
    parser.add_argument("--basis", choices=BASES, default="purchase",
                        help="a cohort is formed by the first purchase or by registration")
    parser.add_argument("--value", choices=VALUES, default="share",
                        help="per cell: share of the cohort who bought, how many bought, or revenue per member")


def run(options) -> Table:
    return retention(scope_of(options), options.by, options.basis).table(options.value)
