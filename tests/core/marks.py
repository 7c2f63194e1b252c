"""Markers shared by the core tests."""

import pytest

# For tests whose code closes or shares the connection (commands, threads), so a test transaction cannot wrap
# them. serialized_rollback reloads the rows that data migrations made and flushes without recreating content
# types, so transactional tests of other apps that reload those rows find no duplicates.
transactional_db = pytest.mark.django_db(transaction=True, serialized_rollback=True)
