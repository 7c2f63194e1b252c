"""`kopilka analytics points|sales --from DATE --to DATE [--by day|week|month] [--segment ...] [filters]`: the cuts
of points and of sales by period and segment."""

from kopilka.analytics.measures import cuts
from kopilka.analytics.presentation.tables import Table
from kopilka.analytics.reports.options import add_scope, scope_of


class _Cut:
    def __init__(self, name: str, help_: str, function, segments: tuple[str, ...]) -> None:
        self.NAME, self.HELP, self._function, self._segments = name, help_, function, segments

    def add_arguments(self, parser) -> None:
        add_scope(parser)
        parser.add_argument("--by", choices=cuts.PERIODS, default="month")
        parser.add_argument("--segment", choices=self._segments, default="none")

    def run(self, options) -> Table:
        return self._function(scope_of(options), options.by, options.segment)


points = _Cut("points", "points accrued, spent and burned by period and segment", cuts.points, cuts.POINT_SEGMENTS)
sales = _Cut("sales", "members' purchases by period and segment", cuts.sales, cuts.SALES_SEGMENTS)
