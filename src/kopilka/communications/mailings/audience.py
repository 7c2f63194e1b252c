"""Who of a mailing's segment gets which variant, and who is held out — in Python (`group_of`, for one member) and in
SQL (`group_sql`, for all of them at once), alike on PostgreSQL and SQLite through `core.holdout`'s integer hash.

- The programme's control group of the month the mailing starts in is left out first (no marketing message);
- then the mailing's own held-out share: the hash salted "mailing:<id>" below `holdout_percent`;
- the rest go to the variants by a second hash, salted "mailing:<id>:variants", cut at the variants' cumulative
  shares (whole percents summing to 100): independent of the holdout, so each variant's members are a random part
  of those sent to.
"""

from datetime import datetime
from decimal import Decimal

from kopilka.campaigns.conditions import parse as parse_condition
from kopilka.campaigns.eligibility import eligible_members
from kopilka.communications.mailings.models import Mailing, MailingRecipient
from kopilka.core import holdout, sql
from kopilka.customers.models import Member

HELD_OUT, PROGRAMME_GROUP = MailingRecipient.HELD_OUT, MailingRecipient.PROGRAMME_GROUP


def holdout_salt(mailing_id: int) -> int:
    return holdout.salt_of(f"mailing:{mailing_id}")


def variant_salt(mailing_id: int) -> int:
    return holdout.salt_of(f"mailing:{mailing_id}:variants")


def cuts(shares: list[int]) -> list[int]:
    """The buckets below which each variant ends: cumulative shares in buckets (the last is all of them)."""
    if not shares or any(share < 1 for share in shares) or sum(shares) != 100:
        raise ValueError(f"variants' shares are whole percents summing to 100: {shares}")
    ends, total = [], 0
    for share in shares:
        total += share
        ends.append(total * holdout.BUCKETS // 100)
    return ends


def group_of(member_id: int, *, mailing_id: int, holdout_percent: Decimal, shares: list[int],
             at: datetime) -> int:
    """The member's group: PROGRAMME_GROUP, HELD_OUT or the position of their variant."""
    if holdout.in_global_control_group(member_id, at):
        return PROGRAMME_GROUP
    if holdout.held_out(member_id, holdout_salt(mailing_id), holdout_percent):
        return HELD_OUT
    bucket = holdout.bucket(member_id, variant_salt(mailing_id))
    return next(position for position, end in enumerate(cuts(shares)) if bucket < end)


def group_sql(column: str, *, mailing_id: int, holdout_percent: Decimal, shares: list[int], at: datetime) -> str:
    """SQL for `group_of` over the member ids of `column` (in a statement run with parameters: "%%" is modulo)."""
    variant = holdout.bucket_sql(column, variant_salt(mailing_id))
    ends = cuts(shares)
    chosen = " ".join(f"WHEN {variant} < {end} THEN {position}" for position, end in enumerate(ends[:-1]))
    last = len(ends) - 1
    return (f"CASE WHEN {holdout.global_control_group_sql(column, at)} THEN {PROGRAMME_GROUP}"
            f" WHEN {holdout.held_out_sql(column, holdout_salt(mailing_id), holdout_percent)} THEN {HELD_OUT}"
            f" {chosen} ELSE {last} END")


def grouped(mailing: Mailing, at: datetime) -> tuple[str, list]:
    """SQL and parameters of the mailing's segment at `at` — the active members its conditions select then — with
    each member's group: rows (id, grp)."""
    shares = list(mailing.variants.order_by("position").values_list("share", flat=True))
    tree = mailing.conditions
    eligible, params = (eligible_members(None if tree is None else parse_condition(tree), at)
                        .values("pk").query.sql_with_params())
    group = group_sql("m.id", mailing_id=mailing.pk, holdout_percent=mailing.holdout_percent, shares=shares, at=at)
    return f"SELECT m.id, {group} AS grp FROM {Member._meta.db_table} m WHERE m.id IN ({eligible})", list(params)


def split(mailing: Mailing, at: datetime) -> dict[int, int]:
    """How many members of the segment each group would hold if the mailing started at `at` (one read)."""
    query, params = grouped(mailing, at)
    return {int(grp): int(n) for grp, n in sql.rows(f"SELECT g.grp, COUNT(*) FROM ({query}) g GROUP BY g.grp",
                                                     params)}
