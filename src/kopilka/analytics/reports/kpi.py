"""`kopilka analytics kpi --from DATE --to DATE [filters] [--table kpi|sources|members]`: the KPI set of a period."""

from kopilka.analytics.measures.kpi import compute
from kopilka.analytics.presentation.tables import Table
from kopilka.analytics.reports.options import add_scope, scope_of

NAME = "kpi"
HELP = "the programme's KPIs for a period (SPEC 7.1), with their definitions"


def add_arguments(parser) -> None:
    add_scope(parser)
    parser.add_argument("--table", choices=["kpi", "sources", "members"], default="kpi",
                        help="the KPIs, new members by registration source, or members against non-members")


def run(options) -> Table:
    kpis = compute(scope_of(options))
    return {"kpi": kpis.table, "sources": kpis.sources_table, "members": kpis.comparison_table}[options.table]()
