"""The back office as an administrator sees it, for the tests that walk through every page: a scene with one record
of each kind a page names, the addresses of the pages, and signing in."""

from datetime import timedelta
from decimal import Decimal

from django.contrib.auth.models import Group, User
from django.core.management import call_command

from kopilka.backoffice import widgets
from kopilka.backoffice.roles import ADMINISTRATOR, sync_roles
from kopilka.campaigns import services as campaigns
from kopilka.campaigns.models import Campaign
from kopilka.catalog.services import upsert_group, upsert_products
from kopilka.communications import webhook_endpoints
from kopilka.communications.journeys.blueprints import create_from_blueprint
from kopilka.communications.mailings import building
from kopilka.communications.mailings import services as mailings
from kopilka.communications.message_templates import save_template
from kopilka.communications.monthly_plan.services import save_mechanic
from kopilka.core import clock, programme
from kopilka.core.models import ProgrammeSettings
from kopilka.customers import services as members
from kopilka.ledger import services as ledger
from tests.analytics.programmes import buy

PASSWORD = "a-long-browser-password-7"


def scene(admin) -> dict:
    """A member with points and a purchase three days ago, a campaign, a product, the Anna journey and a webhook
    endpoint with a delivery: what the pages that show one record name, and figures for the analytics of the
    current month."""
    anna = members.create_member(actor="t", last_name="Соколова", first_name="Анна", phone="+79161234567")
    ledger.accrue(member_id=anna.pk, points=300, actor="t", idempotency_key="offline-1")
    buy(anna, clock.now() - timedelta(days=3), "14900", lines=[("1", "14900", "0")])
    campaigns.create_campaign(code="spring", name="Весна", type="promo", starts_at=clock.now(), actor="t",
                              rules={"accrual": {"reward": "percent", "percent": "5"}})
    upsert_group(code="fillers", name="Филлеры")
    upsert_products([{"sku": "F-1", "name": "Филлер", "price": Decimal("14900"), "group": "fillers"}])
    save_template(code="anna", actor="t", name="Бонусы сгорят", channel="email", purpose="marketing",
                  subject_ru="Бонусы сгорят", body_ru="{{ member.name }}, {{ burning.points|points }} бонусов сгорят.")
    create_from_blueprint("anna", code="sleepers", actor="t")
    endpoint, _secret = webhook_endpoints.create_endpoint(admin, url="http://127.0.0.1:9/hooks", allow_private=True,
                                                          description="CRM", event_types=["member.created"])
    webhook_endpoints.send_test_event(admin, endpoint.pk)
    return {"member": anna.pk, "webhook": endpoint.pk, "mailing": _sent_mailing(), "month": _planned_month()}


def _sent_mailing() -> int:
    """A mailing sent to the scene's member: she has no e-mail address, so her message was skipped."""
    ProgrammeSettings.objects.update_or_create(pk=ProgrammeSettings.SINGLETON,
                                               defaults={"public_url": "https://bonus.example.ru"})
    programme.forget()
    mailing = mailings.save_mailing(actor="t", name="Весенняя рассылка", channel="email", conditions=None,
                                    holdout_percent=Decimal(0), rate_per_minute=None, attribution_days=7,
                                    variants=[mailings.Variant("anna", 100)])
    mailings.schedule(mailing.pk, clock.now(), actor="t")
    building.advance(clock.now())
    return mailing.pk


def _planned_month() -> str:
    month = clock.local_date(clock.now()).replace(day=1)
    save_mechanic(month=month, actor="t", title="Весна", goal="Вернуть ушедших", conditions=None, kind="campaign",
                  campaign=Campaign.objects.get(code="spring"), mailing=None, journey=None, description="",
                  communication="e-mail", budget=Decimal("10000.00"), budget_used_entered=None,
                  target_conversion=Decimal(5))
    return f"{month:%Y-%m}"


# Every kind of back-office page; {member}, {webhook}, {mailing} and {month} stand for the scene's member, endpoint,
# mailing and planned month, the campaign and the product are its own.
ADDRESSES = [
    "/office/members/", "/office/members/{member}/", "/office/members/{member}/compensate/",
    "/office/members/{member}/spend/", "/office/compensations/", "/office/audit/", "/office/settings/",
    "/office/channels/", "/office/messages/",
    "/office/campaigns/", "/office/campaign-new/", "/office/campaigns/spring/", "/office/campaigns/spring/results/",
    "/office/journeys/", "/office/journey-new/", "/office/journeys/sleepers/",
    "/office/catalog/", "/office/templates/", "/office/templates/anna/", "/office/template-new/", "/office/notices/",
    "/office/catalog/products/F-1/", "/office/analytics/", "/office/analytics/rfm/", "/office/analytics/widgets/",
    "/office/webhooks/", "/office/webhooks/new/", "/office/webhooks/{webhook}/",
    "/office/webhooks/{webhook}/deliveries/",
    "/office/mailings/", "/office/mailing-new/", "/office/mailings/{mailing}/", "/office/mailings/{mailing}/results/",
    "/office/plan/{month}/", "/office/plan/{month}/new/", "/office/plan/{month}/1/",
]
# The administration's index, a list and a change form.
ADMINISTRATION = ["/admin/", "/admin/customers/member/", "/admin/customers/member/{member}/change/"]


def addresses(made: dict) -> list[str]:
    """The back-office pages (ADDRESSES) with the scene's records in them."""
    return [address.format(**made) for address in ADDRESSES]


def administration(member: int) -> list[str]:
    """The administration's pages (ADMINISTRATION) with the scene's member in them."""
    return [address.format(member=member) for address in ADMINISTRATION]


def sign_in(page) -> dict:
    """Makes the scene and an administrator who has shared a widget, signs `page` in through the administration's
    login and returns the scene."""
    sync_roles()
    admin = User.objects.create_user("admin-olga", password=PASSWORD, is_staff=True)
    admin.groups.set([Group.objects.get(name=ADMINISTRATOR)])
    made = scene(admin)
    widgets.issue(admin, "rfm", {}, "heatmap", 30, summary="RFM heat map")
    page.goto("/admin/login/?next=/office/")
    page.fill("#id_username", "admin-olga")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/office/**")
    return made


def work_off_the_queue() -> None:
    """What `kopilka worker` does, once: computes what the pages have queued (the analytics' snapshots)."""
    call_command("worker", batch=True, startup_delay=False, schedule=False, verbosity=0)
