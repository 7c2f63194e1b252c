"""How a snapshot's result is shown: a heat map's cells stay readable at their darkest."""

import re
from pathlib import Path

from kopilka.backoffice import presenters

STATIC = Path(presenters.__file__).parent / "static" / "backoffice" / "office.css"
HEAT = (78, 121, 167)  # the heat colour of backoffice/analytics/page.html and part.html


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))


def _luminance(rgb) -> float:
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (part / 255 for part in rgb)]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(one, other) -> float:
    light, dark = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_darkest_cell_of_a_heat_map_keeps_the_contrast_wcag_aa_asks_of_its_text():
    css = STATIC.read_text()
    ink = _rgb(re.search(r"--ink: (#[0-9a-f]{6})", css)[1])
    paper = _rgb(re.search(r"body \{[^}]*background: (#[0-9a-f]{6})", css)[1])

    shown = presenters._heatmap({"heatmap": {"columns": ["F1", "F2"], "rows": ["R1"], "values": [[0, 40]]}})

    assert [cell["alpha"] for cell in shown["rows"][0]["cells"]] == [0.08, 0.8]
    darkest = [alpha * heat + (1 - alpha) * under for heat, under, alpha in zip(HEAT, paper, [0.8] * 3, strict=True)]
    assert _contrast(ink, darkest) >= 4.5
