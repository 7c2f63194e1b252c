"""The bulk data set (`kopilka seed --bulk`): up to millions of members and tens of millions of receipts,
made by set-based SQL on PostgreSQL, for the analytics benchmark and for trying analytics at scale.

First the demo programme of `seed.programme` (catalogue, tiers, campaigns) is installed through its services,
then:
- members: one in eight a clinic (a legal entity with a valid ИНН), the others doctors with names, gender
  (78 % women, 4 % not stated) and a birthday (90 %); regions and registration sources weighted as in the demo;
  registered from a year before the data begins until two weeks ago, more of them lately; 1 % blocked at the
  end; a customer id each;
- receipts: `NON_MEMBER_SHARE` of them of non-members (member NULL); the rest spread over the members by
  skewed weights: a fifth never buy; the others buy from registration (or the start of the data) until they
  lapse (an exponential lifetime, `MEAN_LIFE_DAYS` on average) with lognormal weights, clinics' three times
  heavier, each times the length of that time, so a few members have hundreds of receipts and many a few.
  Days follow the weekly and seasonal shape of `seed.seasons`, hours the working day. 1–4 lines of distinct
  products of the demo catalogue, quantities near the buyer's usual receipt; total = Σ line amounts. 3 %
  cancelled, 2.5 % returned (every line), the rest paid, shipped or completed;
- points, by the base campaign's rules: each counted receipt of a member earns its percent of the total,
  rounded down, as a lot (pending for its days, burning by its expiry rule) with its accrual entry. 45 % of
  the members never spend; the others spend on 10–60 % of their counted receipts, at most the programme's
  receipt cap, from the lots that became spendable since their previous spending receipt, in the programme's
  redemption order (the lots are of one category: oldest first, or soonest expiring first). What
  is left of a lot burns at its expiry when that is before now (the entries `kopilka expire` would write).
  Orders and their lines carry the discount and the points spent; `OrderPoints` rows tie orders to their
  entries, points split over the lines in proportion to their amounts. Tiers: silver or gold by the turnover
  of the gold tier's window, a few gold members on a platinum subscription, each with the change that gave it.
Simplifications: only the base campaign earns (no promo, event or compensation points), on the receipt's
total before the points discount; returned and cancelled receipts earn nothing; a lot that a spend drew
partly is not drawn by later ones; no holds, no debts. The ledger's invariants hold all the same: `kopilka
reconcile` is clean and `kopilka expire` finds nothing due.

All of it is one transaction with the big tables' indexes and constraints set aside (`seed.set_aside`),
followed by VACUUM ANALYZE (ANALYZE inside the transaction when the caller holds one). Ids follow time, as a
live programme's would. The random draws are PostgreSQL's random(), seeded by `BulkSize.seed`.
"""

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from math import gcd
from typing import TextIO

from django.db import DatabaseError, connection, transaction

from kopilka.campaigns.models import Campaign
from kopilka.core import clock
from kopilka.core import programme as programme_settings
from kopilka.customers.models import EligibilityFlag, Region, Tag
from kopilka.ledger import booking
from kopilka.ledger.models import LotCategory
from kopilka.orders.models import COUNTED_STATUSES
from kopilka.seed import profiles, programme
from kopilka.seed.seasons import calendar
from kopilka.seed.set_aside import SetAside
from kopilka.tiers.models import Tier

ACTOR = "seed:bulk"
NON_MEMBER_SHARE = 0.12
BUYER_SHARE = 0.8
LEGAL_ENTITY_SHARE = 0.125
CLINIC_WEIGHT = 3.0
WEIGHT_SIGMA = 1.0  # of the lognormal weights of buyers
WEIGHT_CAP = 50.0  # in units of the median buyer's weight
CANCELLED_SHARE = 0.03
RETURNED_SHARE = 0.025
SAVER_SHARE = 0.45  # of members, who never spend points
SPEND_RATE = (0.1, 0.6)  # the others spend at this share of their counted receipts (uniform between)
MEAN_LIFE_DAYS = 540  # a member buys for an exponential time after registering, then lapses
REGISTERED_BEFORE_DAYS = 365  # the base registered since this long before the data starts
BLOCKED_SHARE = 0.01
PLATINUM_SHARE = 0.02  # of gold members
LINE_SHARES = [0.45, 0.75, 0.92]  # cumulative shares of receipts with 1, 2, 3 lines; the rest have 4
MAX_LINES = 4
MAX_MEMBERS = 9_999_999  # a clinic's ИНН carries the member's serial number in seven digits
BLOCK_REASON = "Демо: проверка службы безопасности"
BASE_CAMPAIGN = "base"

_TEMPORARY = re.compile(r"CREATE TEMP TABLE (\w+)")

# The tables whose rows the load numbers itself (see `_first_id`).
NUMBERED = [
    "customers_member", "customers_externalid", "ledger_account", "ledger_lot", "ledger_entry",
    "ledger_allocation", "orders_order", "orders_orderline", "orders_orderpoints",
]
# The tables the load writes in bulk: their indexes and constraints are set aside meanwhile.
TABLES = [
    "customers_member", "customers_externalid", "customers_memberstatuschange", "ledger_account", "ledger_lot",
    "ledger_entry", "ledger_allocation", "orders_order", "orders_orderline", "orders_orderpoints",
    "tiers_membertier", "tiers_tierchange",
]


@dataclass(frozen=True)
class BulkSize:
    members: int = 1_000_000
    receipts: int = 10_000_000
    months: int = 24
    seed: int = 1


@dataclass(frozen=True)
class BulkResult:
    members: int
    receipts: int
    non_member_receipts: int
    lines: int
    lots: int
    spending_receipts: int
    burned_points: int
    seconds: dict[str, float] = field(default_factory=dict)  # per step


class _Steps:
    """One line per step on `stream`: the step, how long it took, how long since the start."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.started = time.monotonic()
        self.seconds: dict[str, float] = {}

    @contextmanager
    def step(self, label: str) -> Iterator[None]:
        begun = time.monotonic()
        yield
        done = time.monotonic()
        self.seconds[label] = round(done - begun, 1)
        print(f"Bulk seed: {label} in {done - begun:.1f}s ({done - self.started:.0f}s in all)", file=self.stream,
              flush=True)


def load_bulk(size: BulkSize, *, stream: TextIO, now: datetime | None = None) -> BulkResult:
    """Fills an empty programme with the bulk data set (PostgreSQL); one progress line per step on `stream`."""
    if connection.vendor != "postgresql":
        raise RuntimeError("the bulk data set is made with PostgreSQL's SQL")
    if not 1 <= size.members <= MAX_MEMBERS or size.receipts < 0 or size.months < 1:
        raise ValueError(f"members must be 1..{MAX_MEMBERS}, receipts not negative, months positive")
    now = clock.make_aware(now or clock.now())
    start = now - timedelta(days=round(size.months * 30.44))
    steps = _Steps(stream)
    outer = connection.in_atomic_block
    with transaction.atomic():
        with steps.step("programme, catalogue, tiers and campaigns"):
            for code, name in profiles.TAGS:
                Tag.objects.get_or_create(code=code, defaults={"name": name})
            for code, name in profiles.ELIGIBILITY_FLAGS:
                EligibilityFlag.objects.get_or_create(code=code, defaults={"name": name})
            programme.install(start)
        aside = SetAside(TABLES)
        with steps.step("indexes and constraints set aside"):
            aside.drop()  # and the tables locked till the end
        params = _parameters(size, start, now)
        _tune(size.seed)
        with connection.cursor() as cursor:
            for label, statements in STEPS:
                with steps.step(label):
                    for statement in statements:
                        if statement is _DRAW_BY_REDEMPTION_ORDER:
                            statement = statement[params["redemption_order"]]
                        cursor.execute(statement, params)
                        if made := _TEMPORARY.search(statement):  # statistics for the next steps' plans
                            cursor.execute(f"ANALYZE {made[1]}")
            with steps.step("lots and accounts checked against their entries"):
                _hold_snapshots_to_entries(cursor)
            counts = _counts(cursor)
            _renumber(cursor, params)
        with steps.step("indexes and constraints"):
            aside.restore()
        if outer:
            with steps.step("ANALYZE"), connection.cursor() as cursor:
                cursor.execute("ANALYZE " + ", ".join(TABLES))
    if not outer:
        with steps.step("VACUUM ANALYZE"), connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) " + ", ".join(TABLES))
    return BulkResult(**counts, seconds=steps.seconds)


def _tune(seed: int) -> None:
    """Memory for the sorts and index builds of this transaction, no wait for the disk at its commit, and the seed
    of PostgreSQL's random()."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '2GB'")
        cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
        cursor.execute("SET LOCAL synchronous_commit = off")
        try:
            with transaction.atomic():  # refused once the session has used a temporary table
                cursor.execute("SET LOCAL temp_buffers = '1GB'")
        except DatabaseError:
            pass
        cursor.execute("SELECT setseed(%s)", [(seed % 1_000_003) / 1_000_003])


def _weighted(weights: dict) -> list:
    """Each key repeated by its weight: a uniform pick from the list is a weighted pick of the keys."""
    return [key for key, weight in weights.items() for _ in range(weight)]


def _first_id(table: str) -> int:
    """The next id of `table`'s sequence: the load numbers its rows from there (one number per row would cost more
    than the rest of an insert; the table is locked meanwhile). `_renumber` moves the sequence past them."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [table])
        return cursor.fetchone()[0]


def _renumber(cursor, params: dict) -> None:
    for table in NUMBERED:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence(%s, 'id'), GREATEST((SELECT MAX(id) FROM {table}), %s))",
            [table, params[table]],
        )


def _parameters(size: BulkSize, start: datetime, now: datetime) -> dict:
    base = next(c for c in programme.CAMPAIGNS if c["code"] == BASE_CAMPAIGN)["rules"]
    campaign = Campaign.objects.select_related("type").get(code=BASE_CAMPAIGN)
    version = campaign.versions.order_by("-number").first()
    region_ids = dict(Region.objects.values_list("code", "id"))
    regions = [region_ids[code] for code in _weighted(profiles.REGION_WEIGHTS) if code in region_ids]
    products = profiles.PRODUCTS
    days = calendar(clock.local_date(start), clock.local_date(now))
    tiers = {t.code: t for t in Tier.objects.filter(code__in=["silver", "gold", "platinum"])}
    non_members = round(size.receipts * NON_MEMBER_SHARE)
    first_registration = start - timedelta(days=REGISTERED_BEFORE_DAYS)
    point_value = Decimal(programme_settings.value("POINT_VALUE"))
    redemption_order = programme_settings.value("REDEMPTION_ORDER")
    return {
        "members": size.members, "member_receipts": size.receipts - non_members, "non_member_receipts": non_members,
        "start": start, "now": now, "latest": now - timedelta(minutes=1), "span": (now - start).total_seconds(),
        "tz": str(clock.programme_tz()), "first_day": days.first, "days": days.days, "before": days.before,
        "slots": days.slots, "n_slots": len(days.slots),
        "regions": regions, "n_regions": len(regions),
        "sources": _weighted(profiles.REGISTRATION_SOURCES),
        "n_sources": sum(profiles.REGISTRATION_SOURCES.values()),
        "surnames": profiles._SURNAMES, "female_first": profiles._FEMALE_FIRST,
        "male_first": profiles._MALE_FIRST, "fathers": profiles._FATHERS,
        "clinic_words": profiles._CLINIC_WORDS, "clinic_forms": profiles._CLINIC_FORMS,
        "domains": profiles._EMAIL_DOMAINS,
        "legal_share": LEGAL_ENTITY_SHARE, "buyer_share": BUYER_SHARE, "sigma": WEIGHT_SIGMA,
        "weight_cap": WEIGHT_CAP, "clinic_weight": CLINIC_WEIGHT, "blocked_share": BLOCKED_SHARE,
        "block_reason": BLOCK_REASON, "actor": ACTOR,
        "skus": [p[0] for p in products], "prices": [p[2] for p in products],
        "float_prices": [float(p[2]) for p in products], "n_products": len(products),
        "steps": [s for s in range(1, len(products)) if gcd(s, len(products)) == 1] or [1],
        "line_shares": LINE_SHARES, "cancelled": CANCELLED_SHARE, "returned": CANCELLED_SHARE + RETURNED_SHARE,
        "counted": list(COUNTED_STATUSES),
        "percent": Decimal(base["accrual"]["percent"]), "pending_days": base["accrual"]["pending_days"],
        "lifetime_days": base["expiry"]["days"],
        "category": LotCategory.objects.get(code=campaign.type.lot_category).pk,
        "base_ref": version.reference, "saver_share": SAVER_SHARE, "spend_rate_low": SPEND_RATE[0],
        "spend_rate_high": SPEND_RATE[1], "mean_life_days": MEAN_LIFE_DAYS,
        "first_registration": first_registration,
        "registration_span": (now - timedelta(days=14) - first_registration).total_seconds(),
        "cap_percent": Decimal(programme_settings.value("RECEIPT_CAP_PERCENT")), "point_value": point_value,
        "redemption_order": redemption_order,
        "spend_details": f'{{"redemption_order": "{redemption_order}"}}',
        "silver": tiers["silver"].pk, "gold": tiers["gold"].pk, "platinum": tiers["platinum"].pk,
        "gold_threshold": tiers["gold"].threshold, "gold_window": tiers["gold"].window_days,
        "platinum_share": PLATINUM_SHARE,
        **{table: _first_id(table) for table in NUMBERED},
    }


def _pick(array: str, count: int, random: str) -> str:
    """SQL for a uniform pick from the array parameter `array` of `count` elements by `random` in [0, 1)."""
    return f"(%({array})s::text[])[1 + floor({random} * {count})::int]"


def _share(moment: str, days_after: int) -> str:
    """SQL for the share of the calendar's weight before the programme day of `moment` (+ `days_after` days)."""
    day = f"(({moment}) AT TIME ZONE %(tz)s)::date - %(first_day)s::date + {days_after}"
    return f"(%(before)s::float8[])[1 + least(greatest({day}, 0), %(days)s::int)]"


def _split(points: str, alias: str = "r") -> list[str]:
    """SQL for `points` split over the receipt's lines in proportion to their amounts (columns a1..): lines 2.. get
    their share rounded down, line 1 the rest, so the parts add up to `points` exactly."""
    rest = [f"floor({points} * ({alias}.a{j}::float8 / {alias}.total::float8))::bigint"
            for j in range(2, MAX_LINES + 1)]
    return [f"{points} - " + " - ".join(rest)] + rest


def _by_line(parts: str) -> str:
    """SQL for {line number: points} of the lines whose part (columns `{parts}1`..) is not zero (written as JSON
    text: half the cost of building the object and stripping its nulls)."""
    pairs = ", ".join(f"'\"{j}\": ' || NULLIF({parts}{j}, 0)" for j in range(1, MAX_LINES + 1))
    return f"('{{' || concat_ws(', ', {pairs}) || '}}')::jsonb"


_INN_DIGITS = " + ".join(f"substr(nine, {i}, 1)::int * {w}" for i, w in enumerate((2, 4, 10, 3, 5, 9, 4, 6, 8), 1))

MEMBERS = [
    # One row per member: who they are (random draws kept for the insert), when they buy (from registration, or
    # the start of the data, to when they lapse, or now) and how many receipts they get: the running sum of the
    # weights cut into `member_receipts` equal parts, so the counts add up exactly.
    f"""
    CREATE TEMP TABLE bulk_member ON COMMIT DROP AS
    SELECT s.*, CASE WHEN s.total = 0 THEN 0 ELSE
             (floor(%(member_receipts)s::bigint * s.cum / s.total)
              - floor(%(member_receipts)s::bigint * s.cum_before / s.total))::int END AS receipts
    FROM (
        SELECT w.*, COALESCE(LAG(w.cum) OVER (ORDER BY w.g), 0) AS cum_before, MAX(w.cum) OVER () AS total
        FROM (
            SELECT d.*, SUM(d.weight) OVER (ORDER BY d.g ROWS UNBOUNDED PRECEDING) AS cum
            FROM (
                SELECT a.*, {_share("a.buys_from", 0)} AS from_share, {_share("a.buys_until", 1)} AS until_share,
                       CASE WHEN a.buyer AND a.buys_until > a.buys_from THEN
                           least(exp(%(sigma)s::float8 * sqrt(-2 * ln(1 - a.u_w1)) * cos(2 * pi() * a.u_w2)),
                                 %(weight_cap)s::float8)
                           * CASE WHEN a.legal THEN %(clinic_weight)s::float8 ELSE 1 END
                           * extract(epoch FROM a.buys_until - a.buys_from) / %(span)s::float8
                       ELSE 0 END AS weight
                FROM (
                    SELECT r.*, %(customers_member)s::bigint + r.g - 1 AS id,
                           %(ledger_account)s::bigint + r.g - 1 AS account_id,
                           CASE WHEN r.legal THEN 15000 + 45000 * r.u_mean ELSE 2500 + 11500 * r.u_mean END AS mean,
                           greatest(r.registered_at, %(start)s::timestamptz) AS buys_from,
                           least(%(latest)s::timestamptz, r.registered_at
                                 - ln(1 - r.u_life) * %(mean_life_days)s::float8 * interval '1 day') AS buys_until
                    FROM (
                        SELECT g, random() < %(legal_share)s::float8 AS legal,
                               %(first_registration)s::timestamptz
                                   + power(random(), 0.8) * %(registration_span)s::float8 * interval '1 second'
                                   AS registered_at,
                               (%(regions)s::bigint[])[1 + floor(random() * %(n_regions)s::int)::int] AS region_id,
                               (%(sources)s::text[])[1 + floor(random() * %(n_sources)s::int)::int] AS source,
                               random() < 0.78 AS female, random() >= 0.04 AS stated, random() AS u_birthday,
                               random() AS u_name1, random() AS u_name2, random() AS u_name3, random() AS u_inn,
                               random() AS u_mean, random() AS u_w1, random() AS u_w2, random() AS u_life,
                               random() < %(buyer_share)s::float8 OR g = 1 AS buyer,
                               random() < %(blocked_share)s::float8 AS blocked,
                               CASE WHEN random() < %(saver_share)s::float8 THEN 0
                                    ELSE %(spend_rate_low)s::float8
                                         + (%(spend_rate_high)s::float8 - %(spend_rate_low)s::float8) * random()
                               END AS spend_rate
                        FROM generate_series(1, %(members)s::int) g
                    ) r
                ) a
            ) d
        ) w
    ) s
    """,
    f"""
    INSERT INTO customers_member (id, kind, status, last_name, first_name, middle_name, legal_name, inn, kpp, phone,
                                  email, birthday, gender, region_id, city_id, registration_source, registered_at,
                                  blocked_reason, search_text, created_at, updated_at)
    SELECT n.id, n.kind, n.status, n.last_name, n.first_name, n.middle_name, n.legal_name, n.inn,
           CASE WHEN n.inn = '' THEN '' ELSE substr(n.inn, 1, 4) || '01001' END,
           '+79' || lpad(n.g::text, 9, '0'), n.email, n.birthday, n.gender, n.region_id, NULL, n.source,
           n.registered_at, CASE WHEN n.blocked THEN %(block_reason)s ELSE '' END,
           replace(lower(replace(replace(concat_ws(' ', NULLIF(n.last_name, ''), NULLIF(n.first_name, ''),
                                                   NULLIF(n.middle_name, ''), NULLIF(n.legal_name, ''),
                                                   NULLIF(n.inn, '')), '«', ''), '»', '')), 'ё', 'е'),
           n.registered_at, n.registered_at
    FROM (
        SELECT p.*, CASE WHEN p.legal THEN p.nine || mod(mod({_INN_DIGITS}, 11), 10)::text ELSE '' END AS inn
        FROM (
            SELECT m.id, m.g, m.legal, m.blocked, m.region_id, m.source, m.registered_at,
                   CASE WHEN m.legal THEN 'legal_entity' ELSE 'individual' END AS kind,
                   CASE WHEN m.blocked THEN 'blocked' ELSE 'active' END AS status,
                   CASE WHEN m.legal THEN '' ELSE {_pick("surnames", len(profiles._SURNAMES), "m.u_name1")}
                        || CASE WHEN m.female THEN 'а' ELSE '' END END AS last_name,
                   CASE WHEN m.legal THEN ''
                        WHEN m.female THEN {_pick("female_first", len(profiles._FEMALE_FIRST), "m.u_name2")}
                        ELSE {_pick("male_first", len(profiles._MALE_FIRST), "m.u_name2")} END AS first_name,
                   CASE WHEN m.legal THEN '' ELSE {_pick("fathers", len(profiles._FATHERS), "m.u_name3")}
                        || CASE WHEN m.female THEN 'на' ELSE 'ич' END END AS middle_name,
                   CASE WHEN m.legal THEN
                        replace({_pick("clinic_forms", len(profiles._CLINIC_FORMS), "m.u_name1")}, '{{}}',
                                {_pick("clinic_words", len(profiles._CLINIC_WORDS), "m.u_name2")} || ' ' || m.g)
                        ELSE '' END AS legal_name,
                   lpad((10 + floor(m.u_inn * 82))::int::text, 2, '0') || lpad(m.g::text, 7, '0') AS nine,
                   CASE WHEN m.legal THEN 'clinic' ELSE 'doctor' END || m.g || '@'
                       || (%(domains)s::text[])[1 + mod(m.g, 3)] AS email,
                   CASE WHEN m.legal OR m.u_birthday >= 0.9 THEN NULL
                        ELSE DATE '1962-01-01' + floor(m.u_birthday / 0.9 * 14244)::int END AS birthday,
                   CASE WHEN m.legal OR NOT m.stated THEN '' WHEN m.female THEN 'female' ELSE 'male' END AS gender
            FROM bulk_member m
        ) p
    ) n
    """,
    """
    INSERT INTO customers_externalid (id, member_id, system, value)
    SELECT %(customers_externalid)s::bigint + g - 1, id, 'customer', 'C' || lpad(g::text, 7, '0') FROM bulk_member
    """,
    """
    INSERT INTO customers_memberstatuschange (member_id, from_status, to_status, reason, actor, changed_at)
    SELECT id, 'active', 'blocked', %(block_reason)s, %(actor)s, %(now)s FROM bulk_member WHERE blocked
    """,
]

_LINE_DRAWS = ", ".join(f"random() AS u_q{j}" for j in range(1, MAX_LINES + 1))
_PRODUCTS = ", ".join(
    f"1 + mod(a.p0 + {j - 1} * a.step, %(n_products)s::int) AS prod{j}, "
    f"greatest(1, round(a.mean / a.lines / (%(float_prices)s::float8[])[1 + mod(a.p0 + {j - 1} * a.step, "
    f"%(n_products)s::int)] * (0.5 + a.u_q{j})))::int AS q{j}"
    for j in range(1, MAX_LINES + 1)
)
_DRAWS = f"""
    width_bucket(random(), %(line_shares)s::float8[]) + 1 AS lines,
    floor(random() * %(n_products)s::int)::int AS p0,
    (%(steps)s::int[])[1 + floor(random() * cardinality(%(steps)s::int[]))::int] AS step,
    {_LINE_DRAWS}, random() AS u_status, random() AS u_source
"""
# Each line's amount (0 for the lines a receipt does not have).
_AMOUNTS = ", ".join(
    f"CASE WHEN c.lines >= {j} THEN c.q{j} * (%(prices)s::numeric[])[c.prod{j}] ELSE 0 END AS a{j}"
    for j in range(1, MAX_LINES + 1)
)
_HOUR = "(32400 + 39600 * (random() + random()) / 2) * interval '1 second'"  # 9:00–20:00, most about 14:30

RECEIPTS = [
    # Receipts of members and of non-members, sorted by time and numbered from the orders' sequence.
    f"""
    CREATE TEMP TABLE bulk_receipt ON COMMIT DROP AS
    SELECT %(orders_order)s::bigint + row_number() OVER () - 1 AS id, b.member_id, b.account_id, b.region_id,
           b.purchased_at,
           CASE WHEN b.u_status < %(cancelled)s::float8 THEN 'cancelled'
                WHEN b.u_status < %(returned)s::float8 THEN 'returned'
                WHEN b.purchased_at > %(now)s::timestamptz - interval '3 days' THEN 'paid'
                WHEN b.purchased_at > %(now)s::timestamptz - interval '10 days' THEN 'shipped'
                ELSE 'completed' END AS status,
           (ARRAY['pos', 'shop', 'onec'])[1 + width_bucket(b.u_source, ARRAY[0.55, 0.85])] AS source,
           b.lines, {", ".join(f"b.prod{j}, b.q{j}, b.a{j}" for j in range(1, MAX_LINES + 1))},
           {" + ".join(f"b.a{j}" for j in range(1, MAX_LINES + 1))} AS total,
           b.spends
    FROM (
        SELECT c.*, {_AMOUNTS}
        FROM (
        SELECT a.member_id, a.account_id, a.region_id, a.purchased_at, a.lines, a.u_status, a.u_source, a.spends,
               {_PRODUCTS}
        FROM (
            SELECT m.id AS member_id, m.account_id, m.region_id, m.mean,
                   greatest(m.buys_from + interval '10 minutes', least(m.buys_until,
                       ((%(first_day)s::date + (%(slots)s::int[])[1 + least(
                            floor((m.from_share + random() * (m.until_share - m.from_share))
                                  * %(n_slots)s::int)::int,
                            %(n_slots)s::int - 1)]) + {_HOUR}) AT TIME ZONE %(tz)s)) AS purchased_at,
                   {_DRAWS}, random() < m.spend_rate AS spends
            FROM bulk_member m CROSS JOIN LATERAL generate_series(1, m.receipts) k
            WHERE m.receipts > 0
            UNION ALL
            SELECT NULL::bigint, NULL::bigint,
                   (%(regions)s::bigint[])[1 + floor(random() * %(n_regions)s::int)::int], 1500 + 7500 * random(),
                   least(%(latest)s::timestamptz,
                       ((%(first_day)s::date + (%(slots)s::int[])[1 + floor(random() * %(n_slots)s::int)::int])
                        + {_HOUR}) AT TIME ZONE %(tz)s),
                   {_DRAWS}, false
            FROM generate_series(1, %(non_member_receipts)s::int) k
        ) a
        ) c
        ORDER BY c.purchased_at
    ) b
    """,
]

_COUNTED = "status = ANY(%(counted)s::text[])"

# Each lot goes to the member's first spending receipt at or after the lot became spendable (when that comes
# before the lot burns); the receipt draws its lots in the programme's redemption order up to its cap. A
# running minimum over the member's events from the latest back finds that receipt (order ids follow time).
_DRAW = """
    CREATE TEMP TABLE bulk_draw ON COMMIT DROP AS
    SELECT z.lot_id, z.spend_id, z.drawn
    FROM (
        SELECT c.lot_id, c.spend_id,
               least(c.points, greatest(0, s.cap - (SUM(c.points) OVER w - c.points)))::bigint AS drawn
        FROM (
            SELECT e.lot_id, e.points, e.accrued_at, e.expires_at, e.next_spend AS spend_id
            FROM (
                SELECT v.*, MIN(v.spend) OVER (PARTITION BY v.account_id ORDER BY v.at DESC, v.kind DESC
                                               ROWS UNBOUNDED PRECEDING) AS next_spend
                FROM (
                    SELECT account_id, activates_at AS at, 0 AS kind, id AS lot_id, points, accrued_at,
                           expires_at, NULL::bigint AS spend
                    FROM bulk_lot
                    UNION ALL
                    SELECT account_id, purchased_at, 1, NULL, NULL, NULL, NULL, id FROM bulk_spender
                ) v
            ) e
            WHERE e.kind = 0 AND e.next_spend IS NOT NULL
        ) c
        JOIN bulk_spender s ON s.id = c.spend_id
        WHERE s.purchased_at < c.expires_at
        WINDOW w AS (PARTITION BY c.spend_id ORDER BY {order} ROWS UNBOUNDED PRECEDING)
    ) z
    WHERE z.drawn > 0
    """
# The order is `booking`'s own, written over the draw's columns: every bulk lot is of the base campaign's
# category, so its rank orders nothing. One statement per redemption order; the programme's setting picks it.
_DRAW_COLUMNS = {
    "category_rank": None, "accrued_at": "c.accrued_at", "expires_at": "c.expires_at", "id": "c.lot_id",
}
_DRAW_BY_REDEMPTION_ORDER = {
    policy: _DRAW.format(order=booking.redemption_order_sql(policy, _DRAW_COLUMNS))
    for policy in booking.REDEMPTION_ORDERS
}
_EARN_SPLIT = ", ".join(f"{part} AS e{j}" for j, part in enumerate(_split("x.points", "x"), 1))
_SPEND_SPLIT = ", ".join(f"{part} AS p{j}" for j, part in enumerate(_split("d.points"), 1))

POINTS = [
    # A lot for each counted receipt of a member that earns a point, in time order.
    f"""
    CREATE TEMP TABLE bulk_lot ON COMMIT DROP AS
    SELECT %(ledger_lot)s::bigint + row_number() OVER () - 1 AS id, y.order_id, y.account_id, y.points,
           y.accrued_at, y.activates_at, y.expires_at, {_by_line("y.e")} AS by_line
    FROM (
        SELECT x.id AS order_id, x.account_id, x.points, x.purchased_at AS accrued_at,
               x.purchased_at + %(pending_days)s::int * interval '1 day' AS activates_at,
               (((x.purchased_at AT TIME ZONE %(tz)s)::date + %(lifetime_days)s::int + 1)::timestamp
                AT TIME ZONE %(tz)s) AS expires_at,
               {_EARN_SPLIT}
        FROM (SELECT r.*, floor(r.total * %(percent)s::numeric / 100)::bigint AS points FROM bulk_receipt r
              WHERE r.member_id IS NOT NULL AND r.{_COUNTED}) x
        WHERE x.points > 0
    ) y
    """,
    # The receipts that spend, and how many points each may take.
    f"""
    CREATE TEMP TABLE bulk_spender ON COMMIT DROP AS
    SELECT id, account_id, purchased_at,
           floor(total * %(cap_percent)s::numeric / 100 / %(point_value)s::numeric)::bigint AS cap
    FROM bulk_receipt WHERE member_id IS NOT NULL AND {_COUNTED} AND spends
    """,
    _DRAW_BY_REDEMPTION_ORDER,
    # What is left of each lot; what burns by now.
    """
    CREATE TEMP TABLE bulk_lot_final ON COMMIT DROP AS
    SELECT l.id, l.order_id, l.account_id, l.points, l.accrued_at, l.activates_at, l.expires_at, l.by_line,
           COALESCE(d.drawn, 0) AS drawn,
           CASE WHEN l.expires_at <= %(now)s::timestamptz THEN l.points - COALESCE(d.drawn, 0) ELSE 0 END AS burned
    FROM bulk_lot l LEFT JOIN bulk_draw d ON d.lot_id = l.id
    """,
    # The spends, and their points over the receipt's lines.
    f"""
    CREATE TEMP TABLE bulk_spend ON COMMIT DROP AS
    SELECT r.id AS order_id, r.account_id, r.purchased_at AS at, d.points, {_SPEND_SPLIT}
    FROM (SELECT spend_id, SUM(drawn)::bigint AS points FROM bulk_draw GROUP BY spend_id) d
    JOIN bulk_receipt r ON r.id = d.spend_id
    """,
    # Every entry with its balance after, numbered in time order (a spend before the accrual of the same receipt).
    # `step` stands for the kind while the rows are sorted (0 spend, 1 accrual, 2 expiry); `ref` breaks ties.
    """
    CREATE TEMP TABLE bulk_entry ON COMMIT DROP AS
    SELECT %(ledger_entry)s::bigint + row_number() OVER () - 1 AS id,
           (ARRAY['spend', 'accrual', 'expiry'])[b.step + 1] AS kind, b.account_id, b.amount, b.lot_id, b.order_id,
           b.at, b.balance_after
    FROM (
        SELECT m.*, SUM(m.amount) OVER (PARTITION BY m.account_id ORDER BY m.at, m.step, m.ref
                                        ROWS UNBOUNDED PRECEDING) AS balance_after
        FROM (
            SELECT account_id, -points AS amount, NULL::bigint AS lot_id, order_id, at, 0 AS step, order_id AS ref
            FROM bulk_spend
            UNION ALL
            SELECT account_id, points, id, order_id, accrued_at, 1, id FROM bulk_lot_final
            UNION ALL
            SELECT account_id, -burned, id, NULL, expires_at, 2, id FROM bulk_lot_final WHERE burned > 0
        ) m
        ORDER BY m.at, m.step, m.ref
    ) b
    """,
]

LEDGER = [
    """
    INSERT INTO ledger_account (id, member_id, balance, held, updated_at)
    SELECT m.account_id, m.id, 0, 0, %(now)s FROM bulk_member m
    """,
    """
    INSERT INTO ledger_lot (id, account_id, category_id, source_kind, source_ref, amount, remaining, held,
                            accrued_at, activates_at, expires_at, is_debt)
    SELECT id, account_id, %(category)s, 'campaign', %(base_ref)s, points, points, 0, accrued_at,
           activates_at, expires_at, false
    FROM bulk_lot_final
    """,
    """
    INSERT INTO ledger_entry (id, account_id, kind, amount, balance_after, lot_id, hold_id, reverses_id,
                              source_kind, source_ref, reason_code, comment, details, actor, idempotency_key,
                              fingerprint, effective_at, created_at)
    SELECT id, account_id, kind, amount, balance_after, lot_id, NULL, NULL,
           CASE kind WHEN 'spend' THEN 'order' ELSE 'campaign' END,
           CASE kind WHEN 'spend' THEN order_id::text ELSE %(base_ref)s END, '', '',
           CASE kind WHEN 'spend' THEN %(spend_details)s::jsonb END, %(actor)s, NULL, '', at, %(now)s
    FROM bulk_entry
    """,
    """
    INSERT INTO ledger_allocation (id, entry_id, lot_id, amount)
    SELECT %(ledger_allocation)s::bigint + row_number() OVER () - 1, e.id, d.lot_id, -d.drawn
    FROM bulk_draw d JOIN bulk_entry e ON e.kind = 'spend' AND e.order_id = d.spend_id
    """,
    # Accounts and lots are born empty and whole (migration ledger 0012); what their entries took and burned is
    # then written as the snapshots' one change each. The ledger's triggers would hold each changed row to its
    # entries by a probe of an index that is set aside now (a scan of all entries per row: hours at a few thousand
    # members), so they are off for these two statements and `_hold_snapshots_to_entries` checks the same in two
    # set-based reads.
    "ALTER TABLE ledger_lot DISABLE TRIGGER lot_follows_entries",
    "ALTER TABLE ledger_account DISABLE TRIGGER account_follows_entries",
    """
    UPDATE ledger_lot l SET remaining = f.points - f.drawn - f.burned
    FROM bulk_lot_final f WHERE f.id = l.id AND f.drawn + f.burned > 0
    """,
    """
    UPDATE ledger_account a SET balance = l.balance
    FROM (SELECT account_id, SUM(points - drawn - burned) AS balance FROM bulk_lot_final GROUP BY account_id) l
    WHERE l.account_id = a.id AND l.balance <> 0
    """,
    "ALTER TABLE ledger_lot ENABLE TRIGGER lot_follows_entries",
    "ALTER TABLE ledger_account ENABLE TRIGGER account_follows_entries",
]

# The loaded lots whose remainder is not the sum of their entries and allocations, and the loaded accounts whose
# balance is not their newest entry's balance_after (what the triggers of ledger 0010 check row by row).
_UNFOLLOWED_LOT = """
SELECT l.id, l.remaining, COALESCE(b.booked, 0)
FROM ledger_lot l JOIN bulk_lot_final f ON f.id = l.id
LEFT JOIN (SELECT lot_id, SUM(amount) AS booked FROM (
               SELECT lot_id, amount FROM ledger_entry WHERE lot_id IS NOT NULL
               UNION ALL SELECT lot_id, amount FROM ledger_allocation) x GROUP BY lot_id) b ON b.lot_id = l.id
WHERE l.remaining <> COALESCE(b.booked, 0) LIMIT 1
"""
_UNFOLLOWED_ACCOUNT = """
SELECT a.id, a.balance, COALESCE(e.balance_after, 0)
FROM ledger_account a JOIN bulk_member m ON m.account_id = a.id
LEFT JOIN (SELECT DISTINCT ON (account_id) account_id, balance_after FROM ledger_entry
           ORDER BY account_id, id DESC) e ON e.account_id = a.id
WHERE a.balance <> COALESCE(e.balance_after, 0) OR a.held < 0 LIMIT 1
"""


def _hold_snapshots_to_entries(cursor) -> None:
    """Refuses the load (an error rolls its transaction back) when a lot or an account it wrote does not follow its
    entries. The planner cannot count the groups of an aggregate over a union and takes them for a few hundred,
    so it would join them to every row by a nested loop (quadratic: minutes at 20,000 members); a hash join it is."""
    cursor.execute("SET LOCAL enable_nestloop = off")
    for what, statement in (("lot", _UNFOLLOWED_LOT), ("account", _UNFOLLOWED_ACCOUNT)):
        cursor.execute(statement)
        if (found := cursor.fetchone()) is not None:
            raise RuntimeError(f"bulk seed: {what} {found[0]} holds {found[1]} points, its entries say {found[2]}")
    cursor.execute("SET LOCAL enable_nestloop = on")

_LINE_VALUES = ", ".join(f"({j}, r.prod{j}, r.q{j}, r.a{j}, s.p{j})" for j in range(1, MAX_LINES + 1))
# an order's items (Order.items): its lines' quantities, none kept when it was returned
_ITEMS = "CASE WHEN r.status = 'returned' THEN 0 ELSE " + " + ".join(
    f"CASE WHEN r.lines >= {j} THEN r.q{j} ELSE 0 END" for j in range(1, MAX_LINES + 1)) + " END"

ORDERS = [
    f"""
    INSERT INTO orders_order (id, member_id, source, external_id, purchased_at, total, region_id, status,
                              discount, points_spent, hold_id, offline, request_hash, import_batch_id, created_at,
                              items)
    SELECT r.id, r.member_id, r.source, 'B' || lpad(r.id::text, 10, '0'), r.purchased_at, r.total, r.region_id,
           r.status, COALESCE(s.points, 0) * %(point_value)s::numeric, COALESCE(s.points, 0), NULL, false, '',
           NULL, r.purchased_at, {_ITEMS}
    FROM bulk_receipt r LEFT JOIN bulk_spend s ON s.order_id = r.id
    """,
    f"""
    INSERT INTO orders_orderline (id, order_id, line_no, sku, quantity, price, amount, discount, points_spent,
                                  returned_quantity)
    SELECT %(orders_orderline)s::bigint + row_number() OVER () - 1, r.id, v.line_no,
           (%(skus)s::text[])[v.prod], v.q, (%(prices)s::numeric[])[v.prod], v.amount,
           COALESCE(v.points, 0) * %(point_value)s::numeric,
           COALESCE(v.points, 0), CASE WHEN r.status = 'returned' THEN v.q ELSE 0 END
    FROM bulk_receipt r LEFT JOIN bulk_spend s ON s.order_id = r.id
    CROSS JOIN LATERAL (VALUES {_LINE_VALUES}) v(line_no, prod, q, amount, points)
    WHERE v.line_no <= r.lines
    """,
    f"""
    INSERT INTO orders_orderpoints (id, order_id, entry_id, kind, scenario, campaign, points, by_line, undoes_id,
                                    created_at)
    SELECT %(orders_orderpoints)s::bigint + row_number() OVER () - 1, u.*
    FROM (
    SELECT e.order_id, e.id, 'earn', 'payment', %(base_ref)s, e.amount, l.by_line, NULL::bigint, e.at
    FROM bulk_entry e JOIN bulk_lot_final l ON l.id = e.lot_id
    WHERE e.kind = 'accrual'
    UNION ALL
    SELECT e.order_id, e.id, 'spend', '', '', -e.amount, {_by_line("s.p")}, NULL::bigint, e.at
    FROM bulk_entry e JOIN bulk_spend s ON s.order_id = e.order_id
    WHERE e.kind = 'spend'
    ) u
    """,
]

TIERS = [
    # Silver for every member with a counted receipt, gold by the turnover of its window, a few gold members on a
    # platinum subscription; the change that gave each its tier.
    f"""
    WITH turnover AS (
        SELECT member_id, MIN(purchased_at) AS first_at, MAX(purchased_at) AS last_at,
               COALESCE(SUM(total) FILTER (WHERE purchased_at
                   > %(now)s::timestamptz - %(gold_window)s::int * interval '1 day'), 0) AS amount
        FROM bulk_receipt WHERE member_id IS NOT NULL AND {_COUNTED}
        GROUP BY member_id
    ), states AS (
        SELECT t.member_id, t.first_at, t.last_at, t.amount >= %(gold_threshold)s::numeric AS gold,
               t.amount >= %(gold_threshold)s::numeric AND random() < %(platinum_share)s::float8 AS platinum,
               random() AS u_term
        FROM turnover t
    ), states_in AS (
        INSERT INTO tiers_membertier (member_id, tier_id, floor_id, subscription_tier_id, subscription_until,
                                      since)
        SELECT member_id,
               CASE WHEN platinum THEN %(platinum)s WHEN gold THEN %(gold)s ELSE %(silver)s END, NULL,
               CASE WHEN platinum THEN %(platinum)s END,
               CASE WHEN platinum THEN %(now)s::timestamptz + (1 + floor(u_term * 12)) * interval '1 month' END,
               CASE WHEN gold THEN last_at ELSE first_at END
        FROM states
        RETURNING member_id, tier_id, since
    )
    INSERT INTO tiers_tierchange (member_id, from_tier, to_tier, reason, actor, changed_at)
    SELECT i.member_id, '', t.code, CASE WHEN t.code = 'platinum' THEN 'paid subscription' ELSE 'qualified' END,
           %(actor)s, i.since
    FROM states_in i JOIN tiers_tier t ON t.id = i.tier_id
    """,
]

STEPS = [
    ("members", MEMBERS),
    ("receipts", RECEIPTS),
    ("points: lots, spends, expiry", POINTS),
    ("ledger: accounts, lots, entries, allocations", LEDGER),
    ("orders, lines and their points", ORDERS),
    ("tiers", TIERS),
]


def _counts(cursor) -> dict:
    cursor.execute(
        """
        SELECT (SELECT COUNT(*) FROM bulk_member), COUNT(*), COUNT(*) FILTER (WHERE member_id IS NULL),
               COALESCE(SUM(lines), 0), (SELECT COUNT(*) FROM bulk_lot), (SELECT COUNT(*) FROM bulk_spend),
               (SELECT COALESCE(SUM(burned), 0) FROM bulk_lot_final)
        FROM bulk_receipt
        """
    )
    names = ("members", "receipts", "non_member_receipts", "lines", "lots", "spending_receipts", "burned_points")
    return dict(zip(names, (int(value) for value in cursor.fetchone()), strict=True))
