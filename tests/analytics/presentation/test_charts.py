"""Line and bar charts as inline SVG (the scatter plot is tested with the clusters)."""

import xml.etree.ElementTree as ET

from kopilka.analytics.presentation.charts import bar_svg, line_svg


def test_line_and_bar_charts_are_well_formed_svg():
    line = ET.fromstring(str(line_svg(["01.03", "02.03", "03.03"], [("<members>", [1, 5, 2]), ("others", [0, 1, 0])],
                                      y_title="₽", title="Sales")))
    polylines = line.findall("{http://www.w3.org/2000/svg}polyline")
    assert [len(p.get("points").split()) for p in polylines] == [3, 3]
    assert "<members>" in ET.tostring(line, encoding="unicode").replace("&lt;", "<").replace("&gt;", ">")
    bars = ET.fromstring(str(bar_svg(["site", "pos"], [3, 1], y_title="members")))
    assert len(bars.findall("{http://www.w3.org/2000/svg}rect")) == 1 + 2  # the background and two bars
