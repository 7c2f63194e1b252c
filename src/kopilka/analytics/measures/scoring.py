"""RFM scoring: every member with a purchase gets a score from 1 to n on recency, frequency and monetary value,
a named segment, and the grid's cells get the per-cell figures of SPEC §7.3.

Definitions (as of the end of the scope's last day):
- R is scored on the days since the last purchase (fewer days, higher score), F on the number of purchases
  (programme days with a purchase), M on the revenue to date.
- Scores are quantiles of the members scored: score = 1 + ⌊n·(rank − 1)/N⌋, where rank is the member's rank among
  the N members from worst to best and tied members share the lowest rank of their tie — so equal values always
  share a score, and a value most members have (one purchase) sits in the lowest score.
- Segments read the R and F scores in three bands (low, middle, high: for n = 3 the scores themselves, for n = 4
  1, 2–3 and 4, for n = 5 1–2, 3 and 4–5) and M only to tell "cannot lose" from "at risk".
"""

from dataclasses import dataclass

import numpy as np
from django.utils.translation import gettext_lazy as _
from scipy.stats import rankdata

from kopilka.analytics.data.facts import NO_BIRTHDAY, MemberFacts, member_facts, number_of
from kopilka.analytics.data.scope import Scope, roubles
from kopilka.analytics.presentation.tables import COUNT, MONEY, NUMBER, SHARE, Column, Table
from kopilka.core.errors import ValidationFailed

SCHEMES = {"3x3x3": 3, "4x4x4": 4, "5x5x5": 5}
# (code, name, rule on the R, F, M bands 0 low / 1 middle / 2 high); the first rule that holds names the segment.
SEGMENTS = [
    ("champions", _("Champions"), lambda r, f, m: (r == 2) & (f == 2)),
    ("loyal", _("Loyal"), lambda r, f, m: (r == 1) & (f == 2)),
    ("cannot_lose", _("Cannot lose them"), lambda r, f, m: (r == 0) & (f == 2) & (m == 2)),
    ("at_risk", _("At risk"), lambda r, f, m: (r == 0) & (f >= 1)),
    ("potential", _("Potential loyalists"), lambda r, f, m: (r == 2) & (f == 1)),
    ("new", _("New customers"), lambda r, f, m: (r == 2) & (f == 0)),
    ("need_attention", _("Need attention"), lambda r, f, m: (r == 1) & (f == 1)),
    ("about_to_sleep", _("About to sleep"), lambda r, f, m: (r == 1) & (f == 0)),
    ("lost", _("Lost"), lambda r, f, m: (r == 0) & (f == 0)),
]
SEGMENT_NAMES = {code: name for code, name, _rule in SEGMENTS}


@dataclass
class RfmGrid:
    scope: Scope
    size: int
    facts: MemberFacts
    r: np.ndarray
    f: np.ndarray
    m: np.ndarray
    segment: np.ndarray  # index into SEGMENTS

    def cell_table(self) -> Table:
        keys = self.r * 100 + self.f * 10 + self.m
        rows = []
        for key in np.unique(keys):
            chosen = keys == key
            r, f, m = int(key // 100), int(key // 10 % 10), int(key % 10)
            rows.append([f"R{r}F{f}M{m}", r, f, m, str(SEGMENTS[int(self.segment[chosen][0])][1]),
                         *self._figures(chosen)])
        columns = [Column("cell", _("cell")), Column("r", "R"), Column("f", "F"), Column("m", "M"),
                   Column("segment", _("segment"), True), *_FIGURE_COLUMNS]
        return Table("rfm-grid", _("RFM grid"), columns, rows)

    def segment_table(self) -> Table:
        rows = []
        for index, (code, name, _rule) in enumerate(SEGMENTS):
            chosen = self.segment == index
            if chosen.any():
                rows.append([code, str(name), *self._figures(chosen)])
        columns = [Column("segment", _("code")), Column("name", _("segment"), True), *_FIGURE_COLUMNS]
        return Table("rfm-segments", _("RFM segments"), columns, rows)

    def member_scores(self) -> dict[int, tuple[int, int, int, str]]:
        """member id → (R, F, M, segment code)."""
        return {int(member): (int(r), int(f), int(m), SEGMENTS[int(s)][0]) for member, r, f, m, s in
                zip(self.facts.member_id, self.r, self.f, self.m, self.segment, strict=True)}

    def _figures(self, chosen: np.ndarray) -> list:
        facts, count = self.facts, int(chosen.sum())
        purchases, revenue = int(facts.purchases[chosen].sum()), int(facts.revenue[chosen].sum())
        since_last = number_of(self.scope.end) - facts.last_day[chosen]
        gender = facts.gender[chosen]
        born = facts.birthday[chosen]
        born = born[born != NO_BIRTHDAY]
        ages = (number_of(self.scope.end) - born) / 365.2425
        return [
            count, round(count / len(facts), 4), roubles(revenue), round(purchases / count, 2),
            round(float(facts.year_purchases[chosen].mean()), 2), round(float(since_last.mean()), 1),
            roubles(revenue // purchases if purchases else 0), round(float((gender == 1).mean()), 4),
            round(float((gender == 2).mean()), 4), round(float(ages.mean()), 1) if len(ages) else None,
        ]


_FIGURE_COLUMNS = [
    Column("members", _("members"), kind=COUNT), Column("share", _("share of members"), kind=SHARE),
    Column("revenue", _("revenue"), kind=MONEY), Column("visits", _("visits per member"), kind=NUMBER),
    Column("visits_per_year", _("visits per year"), kind=NUMBER),
    Column("days_since_last", _("days since last purchase"), kind=NUMBER),
    Column("spend_per_visit", _("spend per visit"), kind=MONEY), Column("women", _("share of women"), kind=SHARE),
    Column("men", _("share of men"), kind=SHARE), Column("age", _("average age"), kind=NUMBER),
]


def quantile_scores(values: np.ndarray, size: int) -> np.ndarray:
    """1..size by the rank of each value (higher value, higher score; ties share the lowest rank of the tie)."""
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    ranks = rankdata(values, method="min")
    return (1 + (size * (ranks - 1)) // len(values)).astype(np.int64)


def bands(scores: np.ndarray, size: int) -> np.ndarray:
    """Scores 1..size in three bands 0..2: the round(size / 3) lowest scores, the as many highest, the rest."""
    width = round(size / 3)
    return np.where(scores <= width, 0, np.where(scores > size - width, 2, 1))


def grid(scope: Scope, scheme: str = "3x3x3", facts: MemberFacts | None = None) -> RfmGrid:
    """Scores as of the scope's last day; `facts` of a scope with the same last day and filters may be passed."""
    if scheme not in SCHEMES:
        raise ValidationFailed(_("Unknown RFM grid: %(scheme)s.") % {"scheme": scheme}, code="unknown_rfm_grid",
                               details={"scheme": scheme, "allowed": list(SCHEMES)})
    size = SCHEMES[scheme]
    facts = member_facts(scope) if facts is None else facts
    r = quantile_scores(facts.last_day, size)  # a later last purchase is a higher value
    f = quantile_scores(facts.purchases, size)
    m = quantile_scores(facts.revenue, size)
    rb, fb, mb = bands(r, size), bands(f, size), bands(m, size)
    segment = np.full(len(facts), -1, dtype=np.int64)
    for index, (_code, _name, rule) in enumerate(SEGMENTS):
        segment[(segment == -1) & rule(rb, fb, mb)] = index
    return RfmGrid(scope=scope, size=size, facts=facts, r=r, f=f, m=m, segment=segment)
