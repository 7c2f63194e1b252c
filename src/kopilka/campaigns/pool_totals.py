"""The redemption program with its lines left out: what the pools' totals alone allow, in whole numbers.

Pure. Leaving out the lines' rows relaxes the program (`campaigns.redemption`), so what is worked out here bounds
every plan: `most_points` the most points any plan spends, `preference_bound` the best redemption-order score of a
plan of a given total. Both are exact for the relaxation — a fractional knapsack on the receipt's cap and its
Lagrangian dual, worked in integers and fractions, no tolerance — so a plan of the full program that reaches them
is optimal, and `totals` gives the pools' totals that reach the second one when any do. When the lines do not bind
(the usual cart: a receipt cap well below what the lines allow) the planner needs no solver at all.

A pool here is (worth, supply, preference): kopecks of the receipt's cap one point takes, the most points the pool
can give (its points, its own receipt cap, its lines' bounds — whichever is least), and its score per point.
"""

from collections.abc import Sequence
from functools import cmp_to_key
from math import gcd

Multiplier = tuple[int, int]  # λ = a / b, b > 0


def most_points(worth: Sequence[int], supply: Sequence[int], receipt: int) -> int:
    """The most points of Σ x with Σ worth·x ≤ receipt and 0 ≤ x ≤ supply, fractional x allowed, rounded down:
    the cheapest points first (the fractional knapsack's optimum); a bound on every plan's points."""
    most, left = 0, receipt
    for p in sorted(range(len(worth)), key=worth.__getitem__):
        take = min(supply[p], left // worth[p])
        most, left = most + take, left - take * worth[p]
        if take < supply[p]:
            break  # the cap is spent to less than one of these points, and every later point costs as much or more
    return most


def preference_bound(worth: Sequence[int], supply: Sequence[int], preference: Sequence[int], receipt: int,
                     total: int) -> tuple[int, Multiplier]:
    """(⌊the best Σ preference·x⌋, the multiplier λ of the receipt's cap that gives it) over x with Σ x = total,
    Σ worth·x ≤ receipt, 0 ≤ x ≤ supply, fractional x allowed. By duality the optimum is the least over λ ≥ 0 of
    λ·receipt + max{Σ (preference − λ·worth)·x : Σ x = total, 0 ≤ x ≤ supply}, a convex function of λ whose least
    value is at 0 or where two pools trade places: those are searched by bisection. λ = a/b is kept as the pair
    (a, b) and the function's values as numerators over b, so everything is worked in integers. `total` must not
    exceed Σ supply."""
    pools = range(len(worth))
    pairs = {(0, 1)}
    for i in pools:
        for j in pools:
            if worth[i] > worth[j] and preference[i] > preference[j]:
                a, b = preference[i] - preference[j], worth[i] - worth[j]
                common = gcd(a, b)
                pairs.add((a // common, b // common))
    candidates: list[Multiplier] = sorted(pairs, key=cmp_to_key(_compare))

    def dual(multiplier: Multiplier) -> int:
        """The function's value at λ = a/b, times b."""
        a, b = multiplier
        taken = _filled(worth, supply, preference, total, multiplier)
        return a * receipt + sum((b * preference[p] - a * worth[p]) * x for p, x in enumerate(taken))

    low, high = 0, len(candidates) - 1
    while low < high:  # the first candidate from which the function stops falling
        middle = (low + high) // 2
        here, there = candidates[middle], candidates[middle + 1]
        if dual(here) * there[1] <= dual(there) * here[1]:  # f(here) ≤ f(there), each value over its own b
            high = middle
        else:
            low = middle + 1
    best = candidates[low]
    return dual(best) // best[1], best


def totals(worth: Sequence[int], supply: Sequence[int], preference: Sequence[int], receipt: int, total: int,
           multiplier: Multiplier) -> list[int]:
    """Pool totals of Σ x = `total` for the multiplier λ that `preference_bound` found: the pools taken by
    preference less λ × worth, the cheaper first among those that tie, each as far as its supply goes; then what
    the receipt's cap leaves is spent moving points within a tie from its cheapest pools to its dearest (each such
    move gains λ per kopeck of the cap, so the more of the cap is used the better). Whether they keep the cap and
    reach the bound is the caller's check."""
    taken = _filled(worth, supply, preference, total, multiplier)
    left = receipt - sum(w * x for w, x in zip(worth, taken, strict=True))
    a, b = multiplier
    ties: dict[int, list[int]] = {}
    for p in range(len(worth)):
        ties.setdefault(b * preference[p] - a * worth[p], []).append(p)
    for tie in ties.values():
        for dear in sorted(tie, key=lambda p: -worth[p]):
            for cheap in sorted(tie, key=lambda p: worth[p]):
                if worth[cheap] >= worth[dear] or left <= 0:
                    break
                move = min(taken[cheap], supply[dear] - taken[dear], left // (worth[dear] - worth[cheap]))
                taken[cheap], taken[dear] = taken[cheap] - move, taken[dear] + move
                left -= move * (worth[dear] - worth[cheap])
    return taken


def _compare(x: Multiplier, y: Multiplier) -> int:
    return x[0] * y[1] - y[0] * x[1]


def _filled(worth: Sequence[int], supply: Sequence[int], preference: Sequence[int], total: int,
            multiplier: Multiplier) -> list[int]:
    """Σ x = `total` taken by preference less λ × worth, the cheaper first on a tie, each pool up to its supply."""
    a, b = multiplier
    taken, need = [0] * len(worth), total
    for p in sorted(range(len(worth)), key=lambda p: (a * worth[p] - b * preference[p], worth[p], -preference[p])):
        take = min(need, supply[p])
        taken[p], need = take, need - take
    return taken
