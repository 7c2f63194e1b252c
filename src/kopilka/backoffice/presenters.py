"""How a snapshot's result is shown: KPI values formatted by their unit, charts drawn as SVG, tables in the
reader's language. `parts` names the pieces a page can embed elsewhere; `part_html` draws one of them."""

from decimal import ROUND_HALF_UP, Decimal

from django.template.loader import render_to_string
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from kopilka.analytics.presentation import charts
from kopilka.analytics.presentation.tables import Table, from_dict


def formatted(value, unit: str) -> str:
    """A figure as people read it in the active language: money grouped with ₽, a share (a fraction) as a
    percentage with one decimal, a count or points grouped, another number grouped with two decimals; the sign
    stays on the figure's line (a no-break space)."""
    if value is None or value == "":
        return "—"
    if unit == "share":
        return f"{number_format(_rounded(Decimal(str(value)) * 100, '0.1'), 1, force_grouping=True)}\xa0%"
    if unit == "money":
        return f"{number_format(_rounded(Decimal(str(value)), '0.01'), 2, force_grouping=True)}\xa0₽"
    if unit in ("count", "points"):
        return number_format(int(value), 0, force_grouping=True)
    return number_format(_rounded(Decimal(str(value)), "0.01"), 2, force_grouping=True)


def _rounded(value: Decimal, step: str) -> Decimal:
    """`value` rounded half up to `step` (Django's number_format cuts the digits it does not show)."""
    return value.quantize(Decimal(step), rounding=ROUND_HALF_UP)


def readable(table: Table) -> Table:
    """The table with each figure of a column of a known kind written as people read it (`formatted`); the
    downloads keep the raw values."""
    kinds = [column.kind for column in table.columns]
    return Table(table.name, table.title, table.columns,
                 [[formatted(value, kind) if kind and value is not None else value
                   for value, kind in zip(row, kinds, strict=True)] for row in table.rows])


def _line(chart: dict, y_title: str, title: str) -> str:
    labels = [x[8:10] + "." + x[5:7] if len(chart["x"]) > 12 else x for x in chart["x"]]
    series = [(_(s["name"]), s["values"]) for s in chart["series"]]  # names are message ids or data
    return charts.line_svg(labels, series, y_title=y_title, title=title)


def _charts(kind: str, result: dict) -> dict[str, str]:
    if kind == "dashboard":
        found = result["charts"]
        return {
            "sales": _line(found["sales"], _("revenue, ₽"), _("Sales: members and non-members")),
            "points": _line(found["points"], _("points"), _("Points accrued, spent and burned")),
            "sources": charts.bar_svg(found["sources"]["x"] or ["—"], found["sources"]["series"][0]["values"] or [0],
                                      y_title=_("new members"), title=_("New members by registration source")),
        }
    if kind == "cuts":
        found = result["charts"]["cut"]
        measure = _("revenue, ₽") if found["measure"] == "revenue" else _("points accrued")
        return {"cut": _line(found, measure, measure)}
    if kind == "clusters":
        return {"picture": _picture(result["picture"]).svg()}
    if kind == "abc":
        classes = result["charts"]["classes"]
        return {"classes": charts.line_svg(classes["x"], [(_("share of revenue"), classes["values"]),
                                                          (_("share of members"), classes["members"])],
                                           y_title="%", title=_("Classes: shares of members and of revenue"))}
    if kind == "clv":
        bands = result["charts"]["p_alive"]
        return {"p_alive": charts.bar_svg(bands["x"], bands["values"], y_title=_("members"),
                                          title=_("Members by probability still active"))}
    return {}


def _picture(stored: dict):
    import numpy as np

    from kopilka.analytics.measures.clusters import Picture

    return Picture(x=np.array(stored["x"]), y=np.array(stored["y"]), cluster=np.array(stored["cluster"]),
                   centres=np.array(stored["centres"]).reshape(-1, 2), shares=stored["shares"])


# A heat map's cell is the heat colour (78, 121, 167) laid over the page at an opacity from the lightest to the
# darkest; at the darkest the ink on it keeps WCAG AA's 4.5:1 (4.8:1; at 0.88 it was 4.2:1).
HEAT_OPACITY = (0.08, 0.8)


def _heatmap(result: dict) -> dict | None:
    return heatmap(result.get("heatmap"))


def heatmap(found: dict | None) -> dict | None:
    """A heat map's cells as the page draws them: {"columns", "rows", "values"} (a row of values per row name,
    None for no value) to cells with their shown value and opacity."""
    if not found:
        return None
    top = max((v for row in found["values"] for v in row if v is not None), default=0) or 1
    shares = found.get("unit") == "share"
    lightest, darkest = HEAT_OPACITY

    def cell(value) -> dict:
        if value is None:
            return {"value": "", "alpha": 0}
        alpha = round(lightest + (darkest - lightest) * value / top, 2)
        return {"value": formatted(value, "share") if shares else value, "alpha": alpha}

    return {"columns": found["columns"], "rows": [{"name": name, "cells": [cell(v) for v in values]}
                                                  for name, values in zip(found["rows"], found["values"], strict=True)]}


def present(kind: str, result: dict) -> dict:
    return {
        "kpis": [{**k, "label": _(k["label"]), "definition": _(k["definition"]),
                  "shown": formatted(k["value"], k["unit"])}
                 for k in result.get("kpis", [])],
        "charts": _charts(kind, result),
        "heatmap": _heatmap(result),
        "tables": [(name, readable(from_dict(stored))) for name, stored in result.get("tables", {}).items()],
        "facts": [(_(label), value) for label, value in result.get("facts", [])],
    }


def parts(kind: str) -> list[str]:
    """The pieces of a page of `kind` that can be embedded."""
    found = {"dashboard": ["kpis", "chart:sales", "chart:points", "chart:sources", "table:kpi",
                           "table:members-vs-non-members"],
             "cuts": ["chart:cut"],
             "rfm": ["heatmap", "table:rfm-segments", "table:rfm-grid"],
             "clusters": ["chart:picture", "table:clusters"],
             "clv": ["chart:p_alive", "table:clv-top-members", "table:clv-parameters"],
             "cohorts": ["heatmap", "table:cohorts-share"], "abc": ["chart:classes", "table:abc-members"],
             "levers": ["table:levers"]}
    return found.get(kind, [])


def part_html(kind: str, result: dict, part: str) -> str:
    view = present(kind, result)
    if part.startswith("chart:"):
        return view["charts"].get(part[6:], "")
    context = {"view": view, "part": part, "table": dict(view["tables"]).get(part[6:]) if part.startswith("table:")
               else None}
    return render_to_string("backoffice/analytics/part.html", context)
