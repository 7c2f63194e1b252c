"""Control groups (SPEC §8.4): which members are held out of an offer, decided by an integer hash of the member's id
and a salt, which Python (`bucket`) and SQL on PostgreSQL and SQLite (`bucket_sql`) compute alike — so an
assignment is stable, auditable and never stored.

A member's bucket for a salt lies in 0 … BUCKETS − 1; at a share of s percent (at most two decimals) the member is
held out when the bucket is below s × 100. The hash, over integers only:

    x = ((id mod P₀) · M₀ + salt) mod P₀;  x = x xor (x >> 16);  x = (x · M₁) mod P₁;  x = x xor (x >> 15);
    x = (x · M₂) mod P₂;  bucket = x mod BUCKETS

Every value is non-negative and every product is below 2⁶² (the primes and multipliers are below 2³¹, the salt
below P₀), so each step fits a signed 64-bit integer on both databases: SQLite would turn an overflowing product
into a float and PostgreSQL would refuse it. Ids are taken mod P₀. `salt_of` turns a text salt into an integer in
Python; SQL only ever gets the integer.

The programme's global control group holds out CONTROL_GROUP_PERCENT of the members (a programme setting; 0 is
off), salted by the month in the programme's time zone ("control-group:2026-03"): it rotates on the first of each
month. It keeps its members out of marketing messages and promo offers only, never out of transactional notices or
base earning — the callers decide which is which (`campaigns.holdout`).
"""

import hashlib
from datetime import datetime
from decimal import Decimal

from kopilka.core import clock, programme

BUCKETS = 10_000
_P = (2_147_483_647, 2_147_483_629, 2_147_483_587)  # primes below 2³¹
_M = (1_583_458_089, 1_243_423_641, 1_842_376_413)
_SHIFTS = (16, 15)


def salt_of(text: str) -> int:
    """An integer salt (below P₀) for a text such as "campaign:spring-fillers"."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") % _P[0]


def bucket(member_id: int, salt: int) -> int:
    """The member's bucket (0 … BUCKETS − 1) for `salt` (0 ≤ salt < P₀)."""
    x = (member_id % _P[0] * _M[0] + salt) % _P[0]
    x ^= x >> _SHIFTS[0]
    x = x * _M[1] % _P[1]
    x ^= x >> _SHIFTS[1]
    x = x * _M[2] % _P[2]
    return x % BUCKETS


def bucket_sql(column: str, salt: int) -> str:
    """SQL for `bucket(column, salt)` over an integer column (or expression), for PostgreSQL and SQLite alike, in
    a statement run with parameters (as `core.sql` and the ORM run them): its modulo is written "%%". Fully
    parenthesised: PostgreSQL gives |, & and >> one precedence, SQLite another."""
    salt = _checked_salt(salt)
    x = f"(((CAST({column} AS BIGINT) %% {_P[0]}) * {_M[0]} + {salt}) %% {_P[0]})"
    x = _xorshift(x, _SHIFTS[0])
    x = f"(({x} * {_M[1]}) %% {_P[1]})"
    x = _xorshift(x, _SHIFTS[1])
    x = f"(({x} * {_M[2]}) %% {_P[2]})"
    return f"({x} %% {BUCKETS})"


def _xorshift(x: str, shift: int) -> str:
    """x xor (x >> shift) as (a | b) − (a & b): SQLite has no xor."""
    return f"(({x} | ({x} >> {shift})) - ({x} & ({x} >> {shift})))"


def _checked_salt(salt: int) -> int:
    if isinstance(salt, bool) or not isinstance(salt, int) or not 0 <= salt < _P[0]:
        raise ValueError(f"a salt is an integer in [0, {_P[0]}): {salt!r}")
    return salt


def threshold(percent: Decimal) -> int:
    """The buckets below which a member is held out at `percent` (0 … 100, at most two decimals)."""
    if not 0 <= percent <= 100 or percent != percent.quantize(Decimal("0.01")):
        raise ValueError(f"a share is 0 to 100 percent in hundredths: {percent}")
    return int(percent * BUCKETS / 100)


def held_out(member_id: int, salt: int, percent: Decimal) -> bool:
    return bucket(member_id, salt) < threshold(percent)


def held_out_sql(column: str, salt: int, percent: Decimal) -> str:
    """SQL true for the members of `column` that `held_out` holds out."""
    below = threshold(percent)
    return "1 = 0" if below == 0 else f"{bucket_sql(column, salt)} < {below}"


# --- the programme's global control group -----------------------------------------------------------------------


def global_share() -> Decimal:
    """The share of members in the global control group, percent (0: no group)."""
    return Decimal(programme.value("CONTROL_GROUP_PERCENT") or 0)


def month_salt(at: datetime) -> int:
    """The global group's salt for the month of `at` in the programme's time zone."""
    return salt_of(f"control-group:{clock.local_date(at):%Y-%m}")


def in_global_control_group(member_id: int, at: datetime) -> bool:
    """Whether the member is in the programme's global control group at `at`."""
    return held_out(member_id, month_salt(at), global_share())


def global_control_group_sql(column: str, at: datetime) -> str:
    """SQL true for the members of `column` in the global control group at `at` ("1 = 0" when there is none)."""
    return held_out_sql(column, month_salt(at), global_share())
