"""What each kind of snapshot computes, from its parameters: the table PRODUCERS, kind → producer.

A producer is called by `lifecycle.compute` as producer(params, progress) and returns a JSON-ready result; it
reports how far it got with progress(percent, step). Parameters are plain JSON: dates as ISO text, filters as
codes. The kinds are those of `params.FORMS`.
"""

from collections.abc import Callable
from datetime import date
from decimal import Decimal

from django.utils.translation import gettext_noop

from kopilka.analytics.data.scope import FILTERS, Scope
from kopilka.analytics.measures import cuts, kpi, scoring
from kopilka.analytics.presentation.tables import Table, to_dict

Progress = Callable[[int, str], None]
Producer = Callable[[dict, Progress], dict]


def scope_from(params: dict) -> Scope:
    return Scope(date.fromisoformat(params["start"]), date.fromisoformat(params["end"]),
                 **{name: params.get(name, "") for name in FILTERS})


def chart_period(scope: Scope) -> str:
    """The step of the dashboard's time charts: days up to two months, weeks up to a year, else months."""
    return "day" if scope.days <= 62 else "week" if scope.days <= 366 else "month"


MAX_SERIES = 8
ZERO = Decimal(0)


def _series(table: Table, value_column: str, xs: list) -> dict:
    """A cut as chart data: x = every period, one series per segment (periods without data are 0); beyond
    MAX_SERIES segments the smallest are summed as "other". Sums are exact (Decimal)."""
    keys = table.keys
    period, segment, value = keys.index("period"), keys.index("segment"), keys.index(value_column)
    totals: dict[str, Decimal] = {}
    for row in table.rows:
        totals[row[segment]] = totals.get(row[segment], ZERO) + Decimal(row[value])
    names = sorted(totals, key=lambda name: -totals[name])
    kept = set(names[:MAX_SERIES - 1] if len(names) > MAX_SERIES else names)
    values: dict[tuple, Decimal] = {}
    for row in table.rows:
        name = row[segment] if row[segment] in kept else gettext_noop("other")
        values[(row[period], name)] = values.get((row[period], name), ZERO) + Decimal(row[value])
    shown = [name for name in names if name in kept] + ([gettext_noop("other")] if len(kept) < len(names) else [])
    return {"x": [x.isoformat() for x in xs],
            "series": [{"name": name, "values": [_number(values.get((x, name), ZERO)) for x in xs]}
                       for name in shown]}


def _number(total: Decimal) -> int | float:
    """A chart's point: summed exactly, handed to the drawing as a number (money of up to 15 digits keeps its
    exact decimal)."""
    return int(total) if total == total.to_integral_value() else float(total)


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


def cut(params: dict, progress: Progress) -> dict:
    """A cut of points or sales by period and segment, with one line per segment of its main figure."""
    scope = scope_from(params)
    by, segment = params.get("by", "month"), params.get("segment", "none")
    progress(10, params.get("measure", "points"))
    if params.get("measure") == "sales":
        table, main = cuts.sales(scope, by, segment), "revenue"
    else:
        table, main = cuts.points(scope, by, segment), "accrued"
    return {"tables": {table.name: to_dict(table)}, "charts": {"cut": {**_series(table, main, cuts.periods(scope, by)),
                                                                        "measure": main}}}


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


def clusters(params: dict, progress: Progress) -> dict:
    from kopilka.analytics.measures.clusters import cluster

    progress(5, "features and k-means")
    found = cluster(date.fromisoformat(params["as_of"]), int(params.get("k_min", 2)), int(params.get("k_max", 8)))
    progress(85, "picture")
    picture = found.picture()
    return {
        "facts": [[gettext_noop("Clusters chosen by the silhouette score"), found.k],
                  [gettext_noop("Members with purchases"), len(found.member_id)]],
        "tables": {t.name: to_dict(t) for t in (found.table(), found.silhouette_table())},
        "picture": {"x": picture.x.tolist(), "y": picture.y.tolist(), "cluster": picture.cluster.tolist(),
                    "centres": picture.centres.tolist(), "shares": list(picture.shares)},
    }


TOP_MEMBERS = 100
P_ALIVE_BANDS = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]


def lifetime_value(params: dict, progress: Progress) -> dict:
    import numpy as np
    from django.utils.translation import gettext_lazy as _

    from kopilka.analytics.lifetime import clv
    from kopilka.analytics.presentation.tables import Column

    progress(5, "RFM summary and model fits")
    fitted = clv.fit(date.fromisoformat(params["as_of"]), params.get("unit", "week"),
                     int(params["horizon"]) if params.get("horizon") else None)
    progress(90, "tables")
    models = Table("clv-parameters", _("Fitted parameters"), [
        Column("model", _("model")), Column("parameter", _("parameter")), Column("value", _("value"))], [
        ["BG/NBD", name, round(float(getattr(fitted.bgnbd, name)), 6)] for name in ("r", "alpha", "a", "b")] + [
        ["Gamma-Gamma", name, round(float(getattr(fitted.gamma_gamma, name)), 6)] for name in ("p", "q", "v")])
    order = np.argsort(-fitted.expected_value_kopecks, kind="stable")[:TOP_MEMBERS]
    chosen = [fitted.member(int(index)) for index in order]
    top = Table("clv-top-members", _("Members with the highest expected value"), [
        Column("customer_id", _("customer id")), Column("frequency", _("repeat purchases")),
        Column("expected_purchases", _("expected purchases")), Column("p_alive", _("probability still active")),
        Column("expected_average_value", _("expected value of a purchase")),
        Column("expected_value", _("expected value over the horizon"))],
        [[m.customer_id, m.frequency, round(m.expected_purchases, 3), round(m.p_alive, 4), m.expected_average_value,
          m.expected_value] for m in chosen])
    counts, _edges = np.histogram(fitted.p_alive, bins=P_ALIVE_BANDS)
    bands = [f"{int(low * 100)}–{int(high * 100)} %"
             for low, high in zip(P_ALIVE_BANDS, P_ALIVE_BANDS[1:], strict=False)]
    return {
        "facts": [[gettext_noop("Members with purchases"), len(fitted)],
                  [gettext_noop("Horizon, units of time"), f"{fitted.horizon} × {fitted.unit}"],
                  [gettext_noop("Expected value of all members over the horizon"),
                   str(Decimal(int(fitted.expected_value_kopecks.sum())).scaleb(-2))],
                  [gettext_noop("Mean probability still active"), round(float(fitted.p_alive.mean()), 4)],
                  [gettext_noop("BG/NBD drop-out penalty (0: none was needed)"), fitted.bgnbd.penalty]],
        "tables": {t.name: to_dict(t) for t in (models, top)},
        "charts": {"p_alive": {"x": bands, "values": counts.tolist()}},
    }


def cohort_retention(params: dict, progress: Progress) -> dict:
    from kopilka.analytics.measures.cohorts import retention
    from kopilka.analytics.presentation.tables import Column

    progress(5, "cohorts")
    found = retention(scope_from(params), params.get("by", "month"), params.get("basis", "purchase"))
    tables = [found.table(value) for value in ("share", "members", "revenue")]
    for table in tables:  # offsets are numbered; the unit is in the page's choice
        table.columns = [column if index < 2 else Column(column.key, str(index - 2))
                         for index, column in enumerate(table.columns)]
    shares = tables[0]
    return {
        "tables": {table.name: to_dict(table) for table in tables},
        "heatmap": {"rows": [row[0].isoformat() for row in shares.rows],
                    "columns": [str(k) for k in range(len(shares.columns) - 2)],
                    "values": [list(row[2:]) for row in shares.rows], "unit": "share"},
    }


def abc_analysis(params: dict, progress: Progress) -> dict:
    from kopilka.analytics.measures.abc import goods_abc, members_abc

    scope, a, b = scope_from(params), Decimal(params.get("a", "80")), Decimal(params.get("b", "15"))
    progress(5, "members")
    members = members_abc(scope, a, b)
    progress(50, "goods")
    goods = goods_abc(scope, params.get("goods", "sku"), a, b)
    summary = members.summary()
    return {
        "tables": {t.name: to_dict(t) for t in (members.table(), goods.table(), goods.goods_table())},
        "charts": {"classes": {"x": [c.name for c in summary],
                               "values": [round((c.revenue_share or 0) * 100, 1) for c in summary],
                               "members": [round((c.member_share or 0) * 100, 1) for c in summary]}},
    }


def growth_levers(params: dict, progress: Progress) -> dict:
    from kopilka.analytics.measures.levers import levers

    progress(5, "levers")
    found = levers(scope_from(params), Decimal(params.get("target", "20")))
    return {"tables": {"levers": to_dict(found.table())},
            "facts": [[gettext_noop("Revenue"), str(found.revenue.quantize(Decimal("0.01")))],
                      [gettext_noop("Each lever alone, %"), str(((found.growth - 1) * 100).quantize(Decimal("0.01")))],
                      [gettext_noop("All four evenly, each, %"),
                       str(((found.even_growth - 1) * 100).quantize(Decimal("0.01")))]]}


PRODUCERS: dict[str, Producer] = {
    "dashboard": dashboard,
    "cuts": cut,
    "rfm": rfm,
    "clusters": clusters,
    "clv": lifetime_value,
    "cohorts": cohort_retention,
    "abc": abc_analysis,
    "levers": growth_levers,
}
