"""Members entering a journey, as one statement per look whatever their number.

Who may enter is given as SQL returning (member_id, entry_key) rows; `enter` keeps the active members among them
who are not in the journey already (have never been, unless it allows re-entry; are not inside now, if it does)
and were not let in under the same key before. Each gets a visit on the journey's current version at its first
step — or a visit `held_out` at once: first the programme's control group (journeys are marketing), then the
journey's own holdout, by `core.holdout`'s hash salted with the journey's code, so the same members are held out
in Python and in SQL.

The looks by time (`look`): no purchase for N days (once per quiet spell: the key is the spell's last order),
entering a segment (who matches the conditions now and did not at the previous look; the first look only notes who
matches), a moment (once, for a segment or everybody) and birthdays (once a year).
"""

from datetime import datetime, timedelta
from functools import reduce
from operator import or_

from django.db.models import Q

from kopilka.campaigns import conditions
from kopilka.campaigns.eligibility import eligible_members
from kopilka.communications.journeys import rows
from kopilka.communications.journeys.graph import Trigger, parse_graph, parse_trigger
from kopilka.communications.journeys.models import Journey, JourneySegmentMember, JourneyState, JourneyVersion
from kopilka.communications.journeys.moves import arrival
from kopilka.core import clock, holdout, sql
from kopilka.customers.models import Member
from kopilka.orders.models import COUNTED_STATUSES, Order

LOOK_EVERY = timedelta(hours=1)  # how often the looks by time run for a live journey
_STATES, _MEMBERS = JourneyState._meta.db_table, Member._meta.db_table
_SEGMENT, _ORDERS = JourneySegmentMember._meta.db_table, Order._meta.db_table
_COUNTED = ", ".join(f"'{status}'" for status in COUNTED_STATUSES)


def salt(journey: Journey) -> int:
    """The journey's holdout salt."""
    return holdout.salt_of(f"journey:{journey.code}")


def enter(journey: Journey, candidates: str, params: list, now: datetime, *, judged: bool = False) -> int:
    """Let the candidates in (`candidates`: SQL of rows member_id, entry_key, at most one row per member; `judged`:
    it leaves out already who may not enter); returns how many visits began, held out ones included."""
    version: JourneyVersion = journey.current_version()
    first = parse_graph(version.graph).steps[version.graph["start"]]
    at = arrival(first, now)
    control = holdout.global_control_group_sql("m.id", now)
    own = holdout.held_out_sql("m.id", salt(journey), journey.holdout_percent)
    held = "(h.control OR h.own)"
    # Who is in already, read once before the insert: a lookup per candidate in the table being written grows
    # with every row written (PostgreSQL scans the new rows too).
    open_only = " AND status IN ('active', 'waiting')" if journey.reentry else ""
    inside = ("" if judged else
              f"WITH inside AS MATERIALIZED (SELECT member_id FROM {_STATES} WHERE journey_id = %s{open_only})")
    outside = "" if judged else " AND NOT EXISTS (SELECT 1 FROM inside i WHERE i.member_id = c.member_id)"
    statement = f"""
        {inside}
        INSERT INTO {_STATES} (journey_id, version_id, member_id, entry_key, status, held_out_by, step, step_since,
                               wake_at, waits_for, event_at, entered_at, left_at)
        SELECT %s, %s, h.member_id, h.entry_key,
               CASE WHEN {held} THEN 'held_out' ELSE %s END,
               CASE WHEN h.control THEN 'control_group' WHEN h.own THEN 'journey' ELSE '' END,
               CASE WHEN {held} THEN '' ELSE %s END, %s,
               CASE WHEN {held} THEN NULL ELSE %s END,
               CASE WHEN {held} THEN '' ELSE %s END, NULL, %s,
               CASE WHEN {held} THEN %s ELSE NULL END
        FROM (SELECT c.member_id AS member_id, c.entry_key AS entry_key, ({control}) AS control, ({own}) AS own
              FROM ({candidates}) c JOIN {_MEMBERS} m ON m.id = c.member_id
              WHERE m.status = 'active'{outside}{rows.kept_apart()}) h
        WHERE 1 = 1
        ON CONFLICT DO NOTHING
    """
    moment = sql.at(now)
    rows.uncompiled()
    return rows.write(statement, [
        *([] if judged else [journey.pk]), journey.pk, version.pk, at.status, at.step, moment,
        sql.at(at.wake_at) if at.wake_at else None, at.waits_for, moment, moment, *params,
    ])


def enter_members(journey: Journey, entries: list[tuple[int, str, datetime]], now: datetime) -> int:
    """Let in the members of `entries` (member id, entry key, when it happened): per member the first entry at
    whose moment they were not inside the journey (never inside, without re-entry). An entry read again later (its
    event re-read) is judged by its own moment, so it lets in nobody it did not let in before. A pass reads a few
    thousand events at most: each is looked up by the index of visits."""
    if not entries:
        return 0
    inside = "" if not journey.reentry else " AND x.entered_at <= r.at AND (x.left_at IS NULL OR x.left_at > r.at)"
    candidates = f"""
        SELECT d.member_id AS member_id, d.entry_key AS entry_key FROM (
            SELECT r.member_id AS member_id, r.label AS entry_key,
                   ROW_NUMBER() OVER (PARTITION BY r.member_id ORDER BY r.at, r.label) AS n
            FROM ({rows.member_rows()}) r
            WHERE NOT EXISTS (SELECT 1 FROM {_STATES} x WHERE x.journey_id = %s AND x.member_id = r.member_id{inside})
        ) d WHERE d.n = 1
    """
    return enter(journey, candidates, [*rows.member_rows_params(entries), journey.pk], now, judged=True)


def due_for_look(journey: Journey, now: datetime) -> bool:
    trigger = parse_trigger(journey.trigger)
    if trigger.kind == "event":
        return False
    if trigger.kind == "schedule":
        assert trigger.at is not None
        return now >= trigger.at and (journey.checked_at is None or journey.checked_at < trigger.at)
    return journey.checked_at is None or journey.checked_at <= now - LOOK_EVERY


def look(journey: Journey, now: datetime) -> int:
    """The look by time of a live journey (the caller holds the journey's row); returns how many entered."""
    trigger = parse_trigger(journey.trigger)
    entered = {
        "inactivity": _inactive, "segment": _segment, "schedule": _scheduled, "birthday": _birthdays,
    }[trigger.kind](journey, trigger, now)
    journey.checked_at = now
    journey.save(update_fields=["checked_at"])
    return entered


def _inactive(journey: Journey, trigger: Trigger, now: datetime) -> int:
    candidates = f"""
        SELECT o.member_id AS member_id, {rows.concat("'quiet-after:'", "MAX(o.id)")} AS entry_key
        FROM {_ORDERS} o
        WHERE o.member_id IS NOT NULL AND o.status IN ({_COUNTED}) AND o.purchased_at <= %s
        GROUP BY o.member_id HAVING MAX(o.purchased_at) <= %s
    """
    return enter(journey, candidates, [sql.at(now), sql.at(now - timedelta(days=trigger.days))], now)


def _matching_sql(tree: dict | None, now: datetime) -> tuple[str, list]:
    condition = conditions.parse(tree) if tree is not None else None
    statement, params = eligible_members(condition, now).values("id").query.sql_with_params()
    return statement, list(params)


def _segment(journey: Journey, trigger: Trigger, now: datetime) -> int:
    matching, params = _matching_sql(trigger.tree, now)
    entered = 0
    if journey.checked_at is not None:
        candidates = f"""
            SELECT n.id AS member_id, %s AS entry_key FROM ({matching}) n
            WHERE NOT EXISTS (SELECT 1 FROM {_SEGMENT} s WHERE s.journey_id = %s AND s.member_id = n.id)
        """
        entered = enter(journey, candidates, [f"segment:{int(now.timestamp())}", *params, journey.pk], now)
    rows.write(f"DELETE FROM {_SEGMENT} WHERE journey_id = %s", [journey.pk])
    rows.write(f"INSERT INTO {_SEGMENT} (journey_id, member_id) SELECT %s, n.id FROM ({matching}) n",
               [journey.pk, *params])
    return entered


def _scheduled(journey: Journey, trigger: Trigger, now: datetime) -> int:
    matching, params = _matching_sql(trigger.tree, now)
    assert trigger.at is not None
    candidates = f"SELECT n.id AS member_id, %s AS entry_key FROM ({matching}) n"
    return enter(journey, candidates, [f"schedule:{int(trigger.at.timestamp())}", *params], now)


def _birthdays(journey: Journey, trigger: Trigger, now: datetime) -> int:
    today = clock.local_date(now)
    born_today = reduce(or_, (Q(birthday__month=m, birthday__day=d)
                              for m, d in conditions.birthdays_near(today, 0)))
    matching, params = Member.objects.filter(born_today).values("id").query.sql_with_params()
    candidates = f"SELECT n.id AS member_id, %s AS entry_key FROM ({matching}) n"
    return enter(journey, candidates, [f"birthday:{today.year}", *params], now)
