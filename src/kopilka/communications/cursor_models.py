"""The abstract cursor the readers of rows by id keep (`settled_cursor`): a module of its own, so that the app's
models in several modules can share it without importing each other."""

from django.db import models


class SettledCursor(models.Model):
    """How far rows numbered by id have been read (`settled_cursor`). Every row with id ≤ `position` has been read or
    never will exist (its transaction rolled back); rows above it may have been read already. On PostgreSQL an id
    below one seen may still commit: `seen_up_to` and `seen_before` are the highest ids seen by the last two passes,
    `seen_xmax` the xmax of the last pass's snapshot — once every transaction below it has ended, nothing at or
    below `seen_before` can still appear."""

    position = models.BigIntegerField(default=0)
    seen_before = models.BigIntegerField(default=0)
    seen_up_to = models.BigIntegerField(default=0)
    seen_xmax = models.BigIntegerField(null=True)

    class Meta:
        abstract = True
