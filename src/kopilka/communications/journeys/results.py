"""What a journey changed (SPEC §8.4): the visits that went through it against the visits held out at entry, each
over the same window after entering, in one set-based statement per breakdown on either database.

The unit is a visit (a member entering; a member who may enter again counts once per visit). Groups: exposed, every
visit not held out, whatever it did inside (intention to treat: a visit that left early still counts); held out,
the journey's own holdout; visits the programme's control group kept out are counted apart (the programme kept them
from all marketing, not this journey). Within the exposed, each path of a random split is a group too (an A/B test
of the steps after it), compared with the held-out visits.

For each group, per visit, from its entry until `Journey.attribution_days` later and not past now:
- converted: visits whose member bought at least once (a counted order: paid, shipped, completed);
- revenue: those orders' totals to the kopeck, and the sum over visits of their revenue squared (roubles²);
- points accrued, spent (less spends given back) and burned on the member's account (a reward step's among them).
Visits still inside their window count with what they did so far: the hash splits every entry alike, so exposed and
held-out visits entered at the same times and are cut the same way.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection

from kopilka.campaigns.holdout_results import Group
from kopilka.communications.journeys.graph import parse_graph, split_shares
from kopilka.communications.journeys.models import Journey, JourneyState, JourneyStep, JourneyVersion
from kopilka.core import clock, sql
from kopilka.ledger.models import Account, Entry
from kopilka.orders.models import COUNTED_STATUSES, Order

KOPECK = Decimal("0.01")
EXPOSED, HELD_OUT, PROGRAMME_GROUP = "exposed", "held_out", "programme_group"


@dataclass(frozen=True)
class Path:
    """One path of a random split: the step, the path's outcome (`graph.split_shares`) and its share."""

    step: str
    title: str
    outcome: str
    share: int
    group: Group

    @property
    def number(self) -> int:
        return int(self.outcome.removeprefix("path-").split(":", 1)[0])


@dataclass(frozen=True)
class Results:
    until: datetime  # now: no window reaches past it
    days: int  # the window after each entry
    share: Decimal  # percent of the entries the journey holds out
    exposed: Group
    held_out: Group
    programme_group: int  # visits the programme's control group kept out, counted in neither group
    paths: list[Path]  # every random split's paths, in the newest version's order, then older steps'


def results(journey: Journey, now: datetime | None = None) -> Results:
    now = now or clock.now()
    groups = _groups(journey, now, f"""CASE WHEN s.held_out_by = '{JourneyState.HeldOutBy.CONTROL_GROUP}'
        THEN '{PROGRAMME_GROUP}' WHEN s.status = '{JourneyState.Status.HELD_OUT}' THEN '{HELD_OUT}'
        ELSE '{EXPOSED}' END""")
    splits = _splits(journey)
    by_path = _groups(journey, now, "t.step || '|' || t.outcome",
                      f"JOIN {JourneyStep._meta.db_table} t ON t.state_id = s.id AND t.step IN "
                      f"({', '.join(_quoted(step) for step in splits) or 'NULL'})") if splits else {}
    paths = [Path(step, title, outcome, share, by_path.get(f"{step}|{outcome}", Group()))
             for step, (title, shares) in splits.items() for outcome, share in shares]
    return Results(now, journey.attribution_days, journey.holdout_percent, groups.get(EXPOSED, Group()),
                   groups.get(HELD_OUT, Group()), groups.get(PROGRAMME_GROUP, Group()).members, paths)


def _splits(journey: Journey) -> dict[str, tuple[str, list[tuple[str, int]]]]:
    """The random splits of every version, newest first: step id → (its title, its paths' outcomes and shares). A
    step id kept across versions is the newest version's split."""
    found: dict[str, tuple[str, list[tuple[str, int]]]] = {}
    for graph in JourneyVersion.objects.filter(journey=journey).order_by("-number").values_list("graph", flat=True):
        for step in parse_graph(graph).order():
            if step.kind == "split" and step.id not in found:
                found[step.id] = (step.title or step.id, split_shares(step))
    return found


def _quoted(text: str) -> str:
    """A step id as an SQL literal (ids are checked to be short words, but quote them anyway)."""
    return "'" + text.replace("'", "''") + "'"


def _groups(journey: Journey, now: datetime, key: str, joined: str = "") -> dict[str, Group]:
    """The groups' figures, by the group key SQL `key` over the journey's visits (`s`), joined with `joined`."""
    counted = ", ".join(f"'{status}'" for status in COUNTED_STATUSES)
    floating = "DOUBLE PRECISION" if connection.vendor == "postgresql" else "REAL"
    until, stamp = sql.plus_days("s.entered_at", "%s"), sql.at(now)
    found = sql.rows(f"""
        WITH visit AS (
            SELECT s.id, s.member_id, s.entered_at AS since, {until} AS until, {key} AS grp
            FROM {JourneyState._meta.db_table} s {joined}
            WHERE s.journey_id = %s AND s.entered_at < %s
        ), bought AS (
            SELECT v.id, {sql.exact_sum("o.total", sql.KOPECKS)} AS kopecks
            FROM visit v JOIN {Order._meta.db_table} o ON o.member_id = v.member_id
            WHERE o.status IN ({counted}) AND o.purchased_at >= v.since AND o.purchased_at < v.until
              AND o.purchased_at < %s
            GROUP BY v.id
        ), moved AS (
            SELECT v.id,
                   SUM(CASE WHEN e.kind = 'accrual' THEN e.amount ELSE 0 END) AS accrued,
                   -SUM(CASE WHEN e.kind IN ('spend', 'restore') THEN e.amount ELSE 0 END) AS spent,
                   -SUM(CASE WHEN e.kind = 'expiry' THEN e.amount ELSE 0 END) AS burned
            FROM visit v JOIN {Account._meta.db_table} a ON a.member_id = v.member_id
            JOIN {Entry._meta.db_table} e ON e.account_id = a.id
            WHERE e.effective_at >= v.since AND e.effective_at < v.until AND e.effective_at < %s
            GROUP BY v.id
        )
        SELECT v.grp, COUNT(*), COUNT(b.id), COALESCE(SUM(b.kopecks), 0),
               COALESCE(SUM(CAST(b.kopecks AS {floating}) * b.kopecks), 0),
               COALESCE(SUM(p.accrued), 0), COALESCE(SUM(p.spent), 0), COALESCE(SUM(p.burned), 0)
        FROM visit v LEFT JOIN bought b ON b.id = v.id LEFT JOIN moved p ON p.id = v.id
        GROUP BY v.grp""", [journey.attribution_days, journey.pk, stamp, stamp, stamp])
    return {
        str(grp): Group(int(visits), int(converted), (Decimal(int(kopecks)) / 100).quantize(KOPECK),
                        float(squares) / 10_000, int(accrued), int(spent), int(burned))
        for grp, visits, converted, kopecks, squares, accrued, spent, burned in found
    }
