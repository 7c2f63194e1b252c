"""The analysts' pages: a page computes its snapshot in the background and then shows KPIs with their
definitions, charts and tables; every table downloads as CSV, XLSX and JSON; a widget link shows one part to
anyone holding it until it expires, and making one is audited."""

import json
from datetime import timedelta
from io import BytesIO

import pytest
from django.test import Client
from openpyxl import load_workbook

from kopilka.analytics.models import Snapshot
from kopilka.analytics.snapshots import lifecycle
from kopilka.backoffice.models import WidgetLink
from kopilka.core import clock
from kopilka.core.models import AuditEvent

MARCH = "?start=2026-03-01&end=2026-03-31"


def signed_in(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def computed(client, kind: str, query: str) -> str:
    """Open the page (which queues the snapshot), compute it as the worker would, open it again."""
    first = client.get(f"/office/analytics/{kind}/{query}").content.decode()
    assert "Computing…" in first
    lifecycle.compute(Snapshot.objects.latest("requested_at").pk)
    return client.get(f"/office/analytics/{kind}/{query}").content.decode()


def test_the_dashboard_shows_kpis_with_definitions_charts_and_tables(march, staff):
    page = computed(signed_in(staff("analyst")), "dashboard", MARCH)
    assert 'data-kpi="ltv"' in page and "2,900.00\xa0₽" in page and "30.0\xa0%" in page
    assert "Of the members who bought in the previous period" in page
    assert page.count("<svg") == 3 and 'data-chart="sales"' in page and 'data-chart="points"' in page
    assert 'data-table="members-vs-non-members"' in page and "non-members" in page


def test_every_table_downloads_as_csv_xlsx_and_json(march, staff):
    client = signed_in(staff("marketer"))
    computed(client, "rfm", "?as_of=2026-03-31&grid=3x3x3")
    snapshot = Snapshot.objects.get(kind="rfm")
    csv = client.get(f"/office/analytics/snapshots/{snapshot.pk}/rfm-segments.csv")
    assert csv["Content-Disposition"].endswith('.csv"')
    assert csv.content.decode("utf-8-sig").splitlines()[0].startswith("segment,name,members,share,revenue")
    book = load_workbook(BytesIO(client.get(f"/office/analytics/snapshots/{snapshot.pk}/rfm-grid.xlsx").content))
    sheet = book.active
    assert sheet.cell(1, 1).value == "cell" and sheet.max_row == 4
    rows = json.loads(client.get(f"/office/analytics/snapshots/{snapshot.pk}/rfm-segments.json").content)
    assert [(r["segment"], r["members"]) for r in rows] == [("champions", 1), ("about_to_sleep", 1), ("lost", 1)]
    assert client.get(f"/office/analytics/snapshots/{snapshot.pk}/nothing.csv").status_code == 404


def test_recompute_queues_a_new_snapshot(march, staff):
    client = signed_in(staff("analyst"))
    computed(client, "dashboard", MARCH)
    assert client.post(f"/office/analytics/dashboard/{MARCH}").status_code == 302
    assert list(Snapshot.objects.order_by("id").values_list("status", flat=True)) == ["done", "queued"]
    page = client.get(f"/office/analytics/dashboard/{MARCH}").content.decode()
    assert "Computing…" in page and 'data-kpi="ltv"' in page  # the older result stays on screen meanwhile


def test_a_widget_link_shows_its_part_until_it_expires(march, staff, monkeypatch):
    analyst = signed_in(staff("analyst"))
    computed(analyst, "dashboard", MARCH)
    shared = analyst.post("/office/analytics/dashboard/share/", {
        "start": "2026-03-01", "end": "2026-03-31", "part": "table:members-vs-non-members", "days": "7"})
    page = shared.content.decode()
    url = page.split('id="widget-url"')[0].rsplit('value="', 1)[1].split('"')[0]
    assert "/embed/analytics/" in url and "&lt;iframe" in page
    assert AuditEvent.objects.get(action="analytics.shared").details["days"] == 7
    anyone = Client(HTTP_ACCEPT_LANGUAGE="en")
    widget = anyone.get(url)
    assert widget.status_code == 200 and "non-members" in widget.content.decode()
    assert "X-Frame-Options" not in widget
    assert anyone.get(url[:-3] + "xx/").status_code == 403
    link_id = url.rstrip("/").rsplit("/", 1)[1].split(".")[0]
    assert anyone.get(url.replace(f"/{link_id}.", f"/{int(link_id) + 1}.")).status_code == 403
    later = clock.now() + timedelta(days=8)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert anyone.get(url).status_code == 403


def _share(client, part: str, days: str = "30"):
    page = client.post("/office/analytics/dashboard/share/", {
        "start": "2026-03-01", "end": "2026-03-31", "part": part, "days": days}).content.decode()
    return page.split('id="widget-url"')[0].rsplit('value="', 1)[1].split('"')[0]


def test_a_widget_link_is_listed_with_its_maker_and_works_until_revoked(march, staff):
    maker = staff("analyst")
    analyst = signed_in(maker)
    computed(analyst, "dashboard", MARCH)
    url = _share(analyst, "kpis", days="365")
    link = WidgetLink.objects.get()
    assert (link.expires_at - link.created_at).days == 90, "a link lives 90 days at most"
    assert "." in url and link.secret_sha256 not in url, "the link carries its secret, the database only its hash"
    listing = analyst.get("/office/analytics/widgets/").content.decode()
    assert maker.username in listing and "kpis" in listing and "works" in listing
    anyone = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert anyone.get(url).status_code == 200
    assert analyst.post("/office/analytics/widgets/", {"link": link.pk}).status_code == 302
    assert anyone.get(url).status_code == 403
    assert "revoked" in analyst.get("/office/analytics/widgets/").content.decode()
    assert AuditEvent.objects.filter(action="analytics.widget_revoked", target=f"widget:{link.pk}").exists()


def test_a_widget_link_is_not_forged_with_the_site_key(march, staff):
    """The site's secret key signs sessions; a widget link rests on its own random secret, so a token signed with
    the site key in the old format opens nothing."""
    from django.core import signing

    forged = signing.dumps({"k": "dashboard", "p": {"start": "2026-03-01", "end": "2026-03-31"}, "v": "kpis",
                            "e": 4_000_000_000}, salt="kopilka.analytics.widget", compress=True)
    assert Client().get(f"/embed/analytics/{forged}/").status_code == 403


def test_member_level_tables_cannot_be_embedded(march, staff):
    analyst = signed_in(staff("analyst"))
    refused = analyst.post("/office/analytics/clv/share/", {"part": "table:clv-top-members"})
    assert refused.status_code == 302 and not WidgetLink.objects.exists()
    assert "table:clv-top-members" not in analyst.get("/office/analytics/clv/").content.decode().split(
        'name="part"')[-1].split("</select>")[0]



def test_every_part_of_every_page_is_named_either_aggregate_or_member_level():
    """The widget links' allow-list and the member-level list together name every part a page has, and never the
    same part twice: a new part must be judged before it can be shared."""
    from kopilka.backoffice import presenters, widgets
    from kopilka.backoffice.views.analytics import TITLES

    every = {part for kind in TITLES for part in presenters.parts(kind)}
    assert every == widgets.AGGREGATE | widgets.MEMBER_LEVEL and not widgets.AGGREGATE & widgets.MEMBER_LEVEL
    assert not any(widgets.embeddable(part) for part in widgets.MEMBER_LEVEL | {"table:a-new-one"})

def test_an_anonymous_load_never_queues_work(march, staff):
    analyst = signed_in(staff("analyst"))
    url = _share(analyst, "kpis")
    assert Snapshot.objects.count() == 1, "making the link queued the computation it shows"
    Snapshot.objects.all().delete()
    for _ in range(3):
        assert Client().get(url).status_code == 202
    assert not Snapshot.objects.exists()


def test_a_marketer_reads_analytics_but_does_not_share_them(staff):
    marketer = signed_in(staff("marketer"))
    assert marketer.post("/office/analytics/dashboard/share/", {"part": "kpis"}).status_code == 403


@pytest.mark.parametrize("kind", ["dashboard", "rfm"])
def test_bad_parameters_are_explained_and_nothing_is_computed(staff, kind):
    page = signed_in(staff("analyst")).get(f"/office/analytics/{kind}/?start=2026-03-31&end=2026-03-01&as_of=x")
    assert page.status_code == 200 and "errorlist" in page.content.decode()
    assert not Snapshot.objects.exists()


def test_clusters_show_the_chosen_k_the_table_and_the_picture(crowd, staff):
    page = computed(signed_in(staff("analyst")), "clusters", "?as_of=2026-03-31&k_min=2&k_max=5")
    assert "Clusters chosen by the silhouette score" in page and 'data-chart="picture"' in page
    assert page.count("<circle") == 80
    assert 'data-table="clusters"' in page and 'data-table="cluster-silhouettes"' in page


def test_lifetime_value_shows_the_fitted_models_and_the_best_members(crowd, staff):
    page = computed(signed_in(staff("analyst")), "clv", "?as_of=2026-03-31&unit=week&horizon=26")
    assert "Expected value of all members over the horizon" in page and 'data-chart="p_alive"' in page
    snapshot = Snapshot.objects.get(kind="clv")
    names = [row[1] for row in snapshot.result["tables"]["clv-parameters"]["rows"]]
    assert names == ["r", "alpha", "a", "b", "p", "q", "v"]
    top = snapshot.result["tables"]["clv-top-members"]["rows"]
    values = [float(row[5]) for row in top]
    assert len(top) == 80 and values == sorted(values, reverse=True)


def test_cuts_show_a_table_and_a_line_per_segment(march, staff):
    page = computed(signed_in(staff("analyst")), "cuts",
                    MARCH + "&measure=points&by=week&segment=region")
    assert 'data-chart="cut"' in page and page.count("<polyline") == 2  # Moscow and St Petersburg
    snapshot = Snapshot.objects.get(kind="cuts")
    assert snapshot.result["tables"]["points-by-week-region"]["rows"][0][:2] == ["2026-03-02", "Москва"]
    refused = signed_in(staff("analyst")).get("/office/analytics/cuts/" + MARCH + "&measure=sales&segment=campaign")
    assert "This segment does not apply to what is measured." in refused.content.decode()


def test_cohorts_abc_and_levers(march, staff):
    client = signed_in(staff("analyst"))
    cohorts = computed(client, "cohorts", "?start=2026-02-01&end=2026-03-31&by=month&basis=purchase")
    assert "Share of each cohort buying in each period after it formed" in cohorts and "50.0\xa0%" in cohorts
    abc = computed(client, "abc", MARCH + "&a=80&b=15&goods=sku")
    assert 'data-chart="classes"' in abc and 'data-table="abc-members"' in abc and 'data-table="abc-sku-list"' in abc
    levers = computed(client, "levers", MARCH + "&target=20")
    assert "Each lever alone, %" in levers and "4.66" in levers
    table = {row[0]: row for row in Snapshot.objects.get(kind="levers").result["tables"]["levers"]["rows"]}
    assert table["revenue"][2] == "4700.00" and table["members"][2] == 2


def test_a_refused_computation_is_explained_and_can_be_asked_again(staff):
    client = signed_in(staff("analyst"))
    page = computed(client, "clusters", "?as_of=2026-03-31&k_min=2&k_max=5")
    assert "The computation failed:" in page and "Clusters need at least 10 members" in page
    assert client.post("/office/analytics/clusters/?as_of=2026-03-31&k_min=2&k_max=5").status_code == 302
    assert Snapshot.objects.filter(kind="clusters", status="queued").count() == 1
