"""The purchase path's tests read messages in English, whatever translations the deployment carries."""

import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield
