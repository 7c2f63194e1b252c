"""Analytics tests read messages in English."""

import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def in_english():
    """Messages and labels are checked in English (the source language); Russian is checked where it is shown."""
    with translation.override("en"):
        yield
