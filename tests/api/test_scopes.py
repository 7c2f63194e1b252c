"""The reference books' and programme settings' scopes are issued like every other: from the command line and
in the administration, and a key holding them reaches exactly those routes."""

import io
import re

import pytest
from django.core.management import call_command
from django.test import Client

from kopilka.core.models import SCOPES, ApiKey

pytestmark = pytest.mark.django_db


def test_the_command_line_issues_a_key_with_the_new_scopes_that_reaches_their_routes():
    out = io.StringIO()
    scopes = "reference:read,reference:write,programme:read"
    call_command("apikey", "create", "--name", "books", "--scopes", scopes, stdout=out)
    token = re.search(r"kpk_[0-9a-f]{12}_[\w-]+", out.getvalue()).group(0)
    key = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert key.get("/api/v1/reference/tags").status_code == 200
    assert key.get("/api/v1/programme/settings").status_code == 200
    refused = key.patch("/api/v1/programme/settings", '{"time_zone": "Asia/Omsk"}',
                        content_type="application/json", HTTP_IDEMPOTENCY_KEY="x")
    assert (refused.status_code, refused.json()["details"]) == (403, {"scope": "programme:write"})


def test_an_administrator_issues_them_in_the_administration(staff):
    assert {"reference:read", "reference:write", "programme:read", "programme:write"} <= set(SCOPES)
    admin = Client(HTTP_ACCEPT_LANGUAGE="en")
    admin.force_login(staff("administrator"))
    form = admin.get("/admin/core/apikey/add/").content.decode()
    assert 'value="reference:write"' in form and 'value="programme:write"' in form
    admin.post("/admin/core/apikey/add/", {"name": "erp", "scopes": ["programme:read", "programme:write"]})
    assert ApiKey.objects.get(name="erp").scopes == ["programme:read", "programme:write"]
