"""What each kind of snapshot computes, from its parameters (see snapshots.py). Parameters are plain JSON:
dates as ISO text, filters as codes."""

from datetime import date

from kopilka.analytics import cuts, kpi, scoring
from kopilka.analytics.scope import FILTERS, Scope
from kopilka.analytics.snapshots import Progress, producer
from kopilka.analytics.tables import Table, to_dict


def scope_from(params: dict) -> Scope:
    return Scope(date.fromisoformat(params["start"]), date.fromisoformat(params["end"]),
                 **{name: params.get(name, "") for name in FILTERS})


def chart_period(scope: Scope) -> str:
    """The step of the dashboard's time charts: days up to two months, weeks up to a year, else months."""
    return "day" if scope.days <= 62 else "week" if scope.days <= 366 else "month"


def _series(table: Table, value_column: str, xs: list) -> dict:
    """A cut as chart data: x = every period, one series per segment (periods without data are 0)."""
    keys = table.keys
    period, segment, value = keys.index("period"), keys.index("segment"), keys.index(value_column)
    names = list(dict.fromkeys(row[segment] for row in table.rows))
    values = {(row[period], row[segment]): row[value] for row in table.rows}
    return {"x": [x.isoformat() for x in xs],
            "series": [{"name": name, "values": [float(values.get((x, name), 0)) for x in xs]} for name in names]}


@producer("dashboard")
def dashboard(params: dict, progress: Progress) -> dict:
    scope = scope_from(params)
    by = chart_period(scope)
    progress(5, "KPIs")
    kpis = kpi.compute(scope)
    progress(60, "sales")
    sales = cuts.sales(scope, by, "membership")
    progress(80, "points")
    points = cuts.points(scope, by)
    xs = cuts.periods(scope, by)
    by_period = {row[0]: row for row in points.rows}
    point_series = {"x": [x.isoformat() for x in xs], "series": [
        {"name": name, "values": [by_period[x][index] if x in by_period else 0 for x in xs]}
        for index, name in ((2, "accrued"), (3, "spent"), (4, "burned"))]}
    return {
        "period": by,
        "kpis": [{"code": k.code, "label": str(k.label), "value": k.value, "unit": k.unit,
                  "definition": str(k.definition)} for k in kpis.kpis],
        "tables": {t.name: to_dict(t) for t in (kpis.table(), kpis.sources_table(), kpis.comparison_table(),
                                                 sales, points)},
        "charts": {"sales": _series(sales, "revenue", xs), "points": point_series,
                   "sources": {"x": list(kpis.new_members_by_source), "series": [
                       {"name": "new members", "values": list(kpis.new_members_by_source.values())}]}},
    }


@producer("rfm")
def rfm(params: dict, progress: Progress) -> dict:
    as_of = date.fromisoformat(params["as_of"])
    progress(5, "scores")
    scored = scoring.grid(Scope(as_of, as_of, **{name: params.get(name, "") for name in FILTERS}),
                          params.get("grid", "3x3x3"))
    progress(80, "tables")
    size = scored.size
    counts = [[int(((scored.r == r) & (scored.f == f)).sum()) for f in range(1, size + 1)]
              for r in range(size, 0, -1)]
    return {
        "size": size, "members": len(scored.facts),
        "tables": {t.name: to_dict(t) for t in (scored.segment_table(), scored.cell_table())},
        "heatmap": {"rows": [f"R{r}" for r in range(size, 0, -1)], "columns": [f"F{f}" for f in range(1, size + 1)],
                    "values": counts},
    }
