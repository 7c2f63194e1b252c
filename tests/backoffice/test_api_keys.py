"""Administrators issue API keys with scopes in the admin: the token is shown once and works; revoking stops it.
Both are in the audit log; other roles cannot issue keys."""

import re

import pytest
from django.test import Client

from kopilka.api import auth
from kopilka.core.models import ApiKey, AuditEvent

pytestmark = pytest.mark.django_db


def test_an_administrator_issues_a_key_whose_token_works_once_shown_then_revokes_it(staff):
    admin = Client(HTTP_ACCEPT_LANGUAGE="en")
    admin.force_login(staff("administrator"))
    page = admin.post("/admin/core/apikey/add/", {"name": "shop-web", "scopes": ["members:read", "ledger:read"]},
                      follow=True)
    token = re.search(r"kpk_[0-9a-f]{12}_[\w-]+", page.content.decode()).group(0)
    key = ApiKey.objects.get(name="shop-web")
    assert key.scopes == ["ledger:read", "members:read"] and key.is_active
    assert token not in admin.get(f"/admin/core/apikey/{key.pk}/change/").content.decode()

    integration = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert integration.get("/api/v1/members/regions").status_code == 200
    assert integration.get("/api/v1/catalog/products").status_code == 403  # not in its scopes

    admin.post("/admin/core/apikey/", {"action": "revoke", "_selected_action": [key.pk]})
    auth.forget_keys()  # as every process does within auth.KEY_CACHE_SECONDS (tests/api/test_auth.py)
    assert integration.get("/api/v1/members/regions").status_code == 401
    assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True)) == [
        "apikey.issued", "apikey.revoked"]


def test_a_key_needs_a_scope_and_only_administrators_issue_keys(staff):
    admin = Client(HTTP_ACCEPT_LANGUAGE="en")
    admin.force_login(staff("administrator"))
    refused = admin.post("/admin/core/apikey/add/", {"name": "no-scopes"})
    assert refused.status_code == 200 and not ApiKey.objects.exists()
    marketer = Client()
    marketer.force_login(staff("marketer"))
    assert marketer.post("/admin/core/apikey/add/", {"name": "x", "scopes": ["members:read"]}).status_code == 403
    assert not ApiKey.objects.exists()
