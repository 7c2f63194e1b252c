"""Running a write again when the database gave up on it for reasons of timing alone.

PostgreSQL may end a transaction with a deadlock or a serialization failure although nothing is wrong with the
request; the cure is to run the whole transaction again. Only the outermost transaction can be run again (an inner
one cannot outlive the outer one's failure), so faces call `outermost` around their one transaction per request.
"""

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import DatabaseError, connection, transaction

from kopilka.core.errors import TryAgain, transient_cause

T = TypeVar("T")
ATTEMPTS = 4
log = logging.getLogger("kopilka.retrying")


def outermost(work: Callable[[], T], *, attempts: int = ATTEMPTS) -> T:
    """`work()` in a transaction; after a deadlock or serialization failure it runs again (a short random pause
    first), up to `attempts` times in all, and then TryAgain. Inside another transaction it runs once, and such a
    failure is TryAgain at once."""
    for attempt in range(1, attempts + 1):
        try:
            with transaction.atomic():
                return work()
        except DatabaseError as error:
            cause = transient_cause(error)
            if cause is None:
                raise
            if connection.in_atomic_block or attempt == attempts:
                log.warning("gave up after %s (attempt %d)", cause, attempt)
                raise TryAgain(details={"cause": cause}) from error
            log.info("%s, running the transaction again (attempt %d)", cause, attempt)
            time.sleep(random.uniform(0.005, 0.05) * attempt)
    raise AssertionError("unreachable")
