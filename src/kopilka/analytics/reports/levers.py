"""`kopilka analytics levers --from DATE --to DATE [--target 20] [filters]`: the four growth levers of revenue and
how far each must move, alone or evenly with the others, for the target growth."""

from kopilka.analytics.measures.levers import DEFAULT_TARGET, levers
from kopilka.analytics.presentation.tables import Table
from kopilka.analytics.reports.options import add_scope, percent, scope_of

NAME = "levers"
HELP = "growth levers: members × purchases × items per receipt × price per item, moves for a target growth"


def add_arguments(parser) -> None:
    add_scope(parser)
    parser.add_argument("--target", type=percent, default=DEFAULT_TARGET,
                        help="the growth of revenue to reach, in percent (default 20; above -100)")


def run(options) -> Table:
    return levers(scope_of(options), options.target).table()
