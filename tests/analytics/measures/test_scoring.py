"""RFM scoring into a grid with named segments and the per-cell figures of SPEC §7.3 (conftest.py's programme)."""

import json
from datetime import date
from decimal import Decimal

import numpy as np
import pytest
from django.core.management import call_command

from kopilka.analytics.data.scope import Scope
from kopilka.analytics.measures.scoring import bands, grid, quantile_scores
from kopilka.core.errors import ValidationFailed

END = date(2026, 3, 31)


def test_quantile_scores_share_a_score_among_ties_and_put_the_common_value_lowest():
    assert quantile_scores(np.array([5, 1, 1, 1, 1, 1, 1, 2, 2, 3]), 3).tolist() == [3, 1, 1, 1, 1, 1, 1, 2, 2, 3]
    assert quantile_scores(np.arange(10), 5).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_bands_split_any_grid_in_low_middle_high():
    assert bands(np.arange(1, 4), 3).tolist() == [0, 1, 2]
    assert bands(np.arange(1, 5), 4).tolist() == [0, 1, 1, 2]
    assert bands(np.arange(1, 6), 5).tolist() == [0, 0, 1, 2, 2]


def test_members_are_scored_and_named(march):
    scores = grid(Scope(END, END)).member_scores()
    assert scores == {march["anna"].pk: (3, 3, 3, "champions"), march["vera"].pk: (2, 1, 1, "about_to_sleep"),
                      march["boris"].pk: (1, 1, 2, "lost")}


def test_the_cell_table_has_the_figures_of_the_deck(march):
    records = {row["cell"]: row for row in grid(Scope(END, END)).cell_table().records()}
    assert set(records) == {"R3F3M3", "R2F1M1", "R1F1M2"}
    anna = records["R3F3M3"]
    assert {key: anna[key] for key in ("members", "share", "revenue", "visits", "visits_per_year", "days_since_last",
                                       "spend_per_visit", "women", "men", "age")} == {
        "members": 1, "share": 0.3333, "revenue": "5000.00", "visits": 3.0, "visits_per_year": 3.0,
        "days_since_last": 11.0, "spend_per_visit": "1666.66", "women": 1.0, "men": 0.0, "age": 36.0}
    older = records["R1F1M2"]
    assert (older["age"], older["men"], older["days_since_last"]) == (46.2, 1.0, 44.0)
    assert records["R2F1M1"]["age"] is None  # Vera gave no birthday


def test_the_segment_table_sums_to_every_member(march):
    table = grid(Scope(END, END)).segment_table()
    assert [row[0] for row in table.rows] == ["champions", "about_to_sleep", "lost"]
    assert sum(row[2] for row in table.rows) == 3
    assert sum(row[4] for row in table.rows) == Decimal("8700.00")


def test_quintiles_and_an_unknown_grid(march):
    five = grid(Scope(END, END), "5x5x5")
    assert five.member_scores()[march["anna"].pk][:3] == (4, 4, 4)  # 1 + 5·2 // 3
    with pytest.raises(ValidationFailed) as error:
        grid(Scope(END, END), "7x7x7")
    assert error.value.code == "unknown_rfm_grid"


def test_the_rfm_command_prints_the_scores_and_the_grid(march, capsys):
    call_command("analytics", "rfm", "--as-of", "2026-03-31", "--format", "json")
    rows = {row["customer_id"]: row for row in json.loads(capsys.readouterr().out)}
    anna = rows[str(march["anna"].pk)]
    assert (anna["frequency"], anna["r"], anna["f"], anna["m"], anna["segment"]) == (2, 3, 3, 3, "champions")
    call_command("analytics", "rfm-grid", "--as-of", "2026-03-31", "--grid", "3x3x3")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("cell,r,f,m,segment,members,share,revenue")
    assert len(lines) == 4


def test_one_pass_gives_the_kpis_and_the_grid_as_two_passes_would(march):
    from kopilka.analytics.measures.kpi import compute
    from kopilka.analytics.measures.overview import overview
    from tests.analytics.programmes import MARCH

    kpis, scored = overview(Scope(*MARCH))
    assert kpis.table().rows == compute(Scope(*MARCH)).table().rows
    assert scored.member_scores() == grid(Scope(END, END)).member_scores()
