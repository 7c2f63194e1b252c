"""Working a queue in claimed chunks: the loop the message outbox and the webhook deliveries share.

A worker names itself once, claims up to a chunk of due items past the last id it looked at, handles each one it
got, and goes on until `limit` items were claimed or nothing is left. What a claim is (a lease written where it is
still free) and what handling one means stay with the caller.
"""

import uuid
from collections.abc import Callable, Sequence
from typing import TypeVar

Item = TypeVar("Item")
CHUNK = 20  # items claimed at once


def drain(claim: Callable[..., tuple[Sequence[Item], int | None]], handle: Callable[[Item, str], int],
          limit: int) -> int:
    """`claim(worker, how_many, after=last_id)` → (the items this worker got, the last id looked at or None when
    nothing is left); `handle(item, worker)` → 1 when it went out. Returns how many went out."""
    worker, done, after = uuid.uuid4().hex, 0, 0
    while limit > 0:
        claimed, last = claim(worker, min(limit, CHUNK), after=after)
        if last is None:
            break
        limit, after = limit - len(claimed), last
        for item in claimed:
            done += handle(item, worker)
    return done
