"""The role × page matrix: every back-office page and action, opened by every role, answers as this table says;
every API endpoint refuses anonymous callers and staff without the matching permission."""

import pytest
from django.test import Client
from django.urls import URLPattern, get_resolver

from kopilka.api.routes import api
from kopilka.backoffice.roles import ROLES
from kopilka.campaigns.models import Campaign
from kopilka.core import clock
from tests.ledger.conftest import make_member

pytestmark = pytest.mark.django_db

OK, DENIED = 200, 403
ALL = set(ROLES)
SENIORS = {"administrator", "senior_support", "head_of_support"}
SUPPORTERS = {"support", "auditor"} | SENIORS

# page name → (method, roles that may use it); other roles get 403.
MATRIX = {
    "backoffice:search": ("get", SUPPORTERS),
    "backoffice:member": ("get", SUPPORTERS),
    "backoffice:compensate": ("get", {"support"} | SENIORS),
    "backoffice:operate": ("get", SENIORS),  # spend, burn and reverse alike
    "backoffice:compensations": ("get", SUPPORTERS),
    "backoffice:decide": ("post", SENIORS),
    "backoffice:audit": ("get", {"administrator", "auditor"}),
    "backoffice:campaigns": ("get", {"marketer", "analyst", "auditor", "support"} | SENIORS),
    "backoffice:campaign_new": ("get", {"administrator", "marketer", "analyst", "auditor", "support",
                                        "senior_support", "head_of_support"}),
    "backoffice:campaign": ("get", {"marketer", "analyst", "auditor", "support"} | SENIORS),
    "backoffice:lifecycle": ("post", {"administrator", "marketer"}),
    "backoffice:eligible_count": ("post", {"administrator", "marketer", "analyst", "auditor", "support",
                                           "senior_support", "head_of_support"}),
    "backoffice:programme": ("get", {"administrator", "auditor"}),
    "backoffice:catalog": ("get", {"administrator", "marketer", "analyst", "auditor"}),
    "backoffice:catalog_template": ("get", {"administrator", "marketer", "analyst", "auditor"}),
    "backoffice:catalog_export": ("get", {"administrator", "marketer", "analyst", "auditor"}),
    "backoffice:analytics": ("get", {"administrator", "marketer", "analyst"}),
    "backoffice:analytics_dashboard": ("get", {"administrator", "marketer", "analyst"}),
    "backoffice:analytics_status": ("get", {"administrator", "marketer", "analyst"}),
    "backoffice:analytics_download": ("get", {"administrator", "marketer", "analyst"}),
    "backoffice:analytics_share": ("post", {"administrator", "analyst"}),
    "backoffice:analytics_widgets": ("get", {"administrator", "analyst"}),
}
ADMIN_PAGES = {
    "/admin/": ALL,
    "/admin/core/apikey/": {"administrator", "auditor"},
    "/admin/auth/user/": {"administrator", "auditor"},
    "/admin/catalog/product/": {"administrator", "marketer", "analyst", "auditor"},
    "/admin/core/auditevent/": {"administrator", "auditor"},
    "/admin/backoffice/compensationlimit/": {"administrator", "auditor"},
}


def _campaign():
    from kopilka.campaigns import services

    if not Campaign.objects.filter(code="promo").exists():
        services.create_campaign(code="promo", name="Promo", type="promo", starts_at=clock.now(), actor="t",
                                 rules={"accrual": {"reward": "percent", "percent": "5"}})


def _snapshot():
    from kopilka.analytics.models import Snapshot
    from kopilka.analytics.presentation.tables import Column, Table, to_dict

    table = to_dict(Table("kpi", "KPIs", [Column("code", "code")], [["members"]]))
    return Snapshot.objects.create(kind="dashboard", params={}, digest="x", status="done", result={
        "tables": {"kpi": table}}, requested_by="t", requested_at=clock.now(), finished_at=clock.now())


def _office_pages() -> set[str]:
    resolver = get_resolver()
    found = set()
    for pattern in resolver.url_patterns:
        if getattr(pattern, "namespace", None) == "backoffice":
            found |= {f"backoffice:{p.name}" for p in pattern.url_patterns if isinstance(p, URLPattern)}
    return found - {"backoffice:home"}


def test_the_matrix_names_every_back_office_page():
    assert _office_pages() == set(MATRIX)


@pytest.mark.parametrize("role", sorted(ROLES))
def test_each_role_opens_exactly_its_pages(staff, role):
    from django.urls import reverse

    member = make_member()
    _campaign()
    client = Client()
    client.force_login(staff(role))
    snapshot = _snapshot()
    args = {"backoffice:analytics": ["dashboard"], "backoffice:analytics_status": [snapshot.pk],
            "backoffice:analytics_download": [snapshot.pk, "kpi", "csv"], "backoffice:analytics_share": ["rfm"],
            "backoffice:member": [member.pk], "backoffice:compensate": [member.pk], "backoffice:decide": [999_999],
            "backoffice:operate": [member.pk, "spend"], "backoffice:campaign": ["promo"],
            "backoffice:lifecycle": ["promo", "activate"]}
    for name, (method, allowed) in MATRIX.items():
        response = getattr(client, method)(reverse(name, args=args.get(name, [])))
        expected = OK if role in allowed else DENIED
        if method == "post" and role in allowed and name != "backoffice:eligible_count":
            expected = 302  # an action redirects back to its list (here: "no such request" or a refused move)
        assert response.status_code == expected, (role, name, response.status_code)
    for path, allowed in ADMIN_PAGES.items():
        assert client.get(path).status_code == (OK if role in allowed else DENIED), (role, path)


def test_signed_out_people_are_sent_to_the_login_page():
    response = Client().get("/office/members/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("role, landing", [("support", "/office/members/"), ("marketer", "/office/campaigns/"),
                                           ("analyst", "/office/analytics/"), ("auditor", "/office/members/")])
def test_the_front_door_leads_to_the_first_page_of_the_role(staff, role, landing):
    client = Client()
    client.force_login(staff(role))
    assert client.get("/office/")["Location"] == landing


def test_staff_without_a_role_are_refused_everywhere(staff):
    client = Client()
    client.force_login(staff())
    assert client.get("/office/members/").status_code == DENIED
    assert client.get("/office/audit/").status_code == DENIED
    assert client.get("/office/").status_code == DENIED


def _api_get_paths() -> list[str]:
    paths = []
    for prefix, router in api._routers:
        for path, view in router.path_operations.items():
            if any("GET" in operation.methods for operation in view.operations):
                paths.append(("/api/v1" + prefix + path).replace("//", "/"))
    return paths


def test_every_api_read_refuses_anonymous_callers_and_staff_without_the_permission(staff):
    paths = [p for p in _api_get_paths() if "openapi" not in p and "docs" not in p]
    assert len(paths) > 10
    filled = [p.replace("{member_id}", "1").replace("{int:member_id}", "1").replace("{int:order_id}", "1")
              .replace("{order_id}", "1").replace("{code}", "x").replace("{sku}", "x").replace("{int:entry_id}", "1")
              .replace("{entry_id}", "1").replace("{int:hold_id}", "1").replace("{hold_id}", "1")
              .replace("{int:snapshot_id}", "1").replace("{name}", "x") for p in paths]
    nobody, marketer = Client(), Client()
    marketer.force_login(staff("marketer"))
    for path in filled:
        assert nobody.get(path).status_code == 401, path
        answer = marketer.get(path).status_code
        assert answer in (200, 400, 403, 404, 422), (path, answer)
    # A marketer reads campaigns but not balances.
    member = make_member()
    assert marketer.get(f"/api/v1/ledger/members/{member.pk}/balance").status_code == 403


@pytest.mark.parametrize("language, word", [("ru", "Выйти"), ("en", "Sign out")])
def test_every_page_speaks_the_browsers_language(staff, language, word):
    from django.urls import reverse

    member = make_member()
    _campaign()
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(staff("administrator"))
    snapshot = _snapshot()
    args = {"backoffice:analytics": ["dashboard"], "backoffice:analytics_status": [snapshot.pk],
            "backoffice:analytics_download": [snapshot.pk, "kpi", "csv"], "backoffice:analytics_share": ["rfm"],
            "backoffice:member": [member.pk], "backoffice:compensate": [member.pk],
            "backoffice:operate": [member.pk, "spend"], "backoffice:campaign": ["promo"]}
    for name, (method, _allowed) in MATRIX.items():
        if method != "get" or name.endswith(("_template", "_export", "_status", "_download")):
            continue  # files and JSON, not pages
        page = client.get(reverse(name, args=args.get(name, [])))
        text = page.content.decode()
        assert page.status_code == 200 and f'<html lang="{language}">' in text and word in text, name


def test_reference_books_are_in_the_administration(staff):
    client = Client()
    client.force_login(staff("marketer"))
    for path in ("/admin/campaigns/campaigntype/", "/admin/ledger/reasoncode/", "/admin/customers/tag/",
                 "/admin/catalog/productgroup/"):
        assert client.get(path).status_code == 200, path


def test_the_catalogue_page_shows_the_redemption_shop_alone(staff):
    from kopilka.catalog.services import upsert_products

    upsert_products([{"sku": "GIFT-1", "name": "Сертификат", "price": "500", "is_partner": True},
                     {"sku": "CREAM-1", "name": "Крем", "price": "900"}])
    client = Client()
    client.force_login(staff("marketer"))
    shop = client.get("/office/catalog/", {"shop": "1"}).content.decode()
    assert "GIFT-1" in shop and "CREAM-1" not in shop
    export = client.get("/office/catalog/export.xlsx", {"shop": "1"})
    assert export.status_code == 200 and "redemption-shop.xlsx" in export["Content-Disposition"]
