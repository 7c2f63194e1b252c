"""A campaign's results in the back office: the page of one campaign (cards, two charts, two tables, for the
campaign's life so far or a period asked), its tables downloaded with raw numbers, and the results' columns of the
list of campaigns, read in one statement for all of them. The figures are those of the spring story
(tests/campaigns/test_results.py), worked by hand there."""

import csv
import json
import re
from datetime import timedelta
from io import BytesIO, StringIO

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from kopilka.core import clock
from tests.campaigns.test_results import spring_story
from tests.factories import live_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def story(db):
    return spring_story()


def signed_in(user, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def card(page: str, code: str) -> str:
    """The text of one card of the page, tags removed."""
    start = page.index(">", page.index(f'data-card="{code}"')) + 1
    article = page[start:page.index("</article>", start)]
    text, inside = [], False
    for char in article:
        if char == "<":
            inside = True
        elif char == ">":
            inside = False
            text.append(" ")
        elif not inside:
            text.append(char)
    return re.sub(r"[ \n]+", " ", "".join(text)).strip()  # no-break spaces stay


def test_the_page_opens_on_the_campaigns_life_so_far_with_cards_charts_and_tables(story, staff):
    page = signed_in(staff("marketer")).get("/office/campaigns/spring/results/")
    text = page.content.decode()

    assert page.status_code == 200
    starts = clock.local_date(story["spring"].starts_at)
    assert f'value="{starts.isoformat()}"' in text
    assert f'value="{clock.local_date(clock.now()).isoformat()}"' in text
    assert card(text, "members") == "Members who earned 3 grants: 4"
    assert card(text, "granted") == ("Points granted 500 desired by the rules: 550; cut by the budget and the member "
                                     "limits: 50")
    assert card(text, "budget") == "Budget used 300 30.0\xa0% of 1,000; left: 700"
    assert card(text, "spent") == "Points spent 60 12.0\xa0% of those granted"
    assert card(text, "burned") == "Points burned 40 expired or burned by hand"
    assert card(text, "taken_back") == "Points taken back 200 by returns of purchases, corrections and settled debts"
    assert card(text, "outstanding") == "Points outstanding 200 still held by the members"
    assert card(text, "revenue") == "Revenue of those receipts 4,500.00\xa0₽"
    assert text.count("<svg") == 2 and 'data-chart="points"' in text and 'data-chart="revenue"' in text
    versions = text[text.index('data-table="results-by-version"'):text.index('data-table="results-by-day"')]
    assert "<td>spring:v1</td>" in versions and "<td>spring:v2</td>" in versions
    assert "<td>88.9\xa0%</td>" in versions and "<td>2,500.00\xa0₽</td>" in versions  # v1: 400 of 450, two receipts
    assert 'href="/office/campaigns/spring/">spring</a> › Results' in text


def test_a_period_narrows_the_figures_and_a_reversed_period_is_refused(story, staff):
    client = signed_in(staff("analyst"))
    day = story["day"].isoformat()

    text = client.get(f"/office/campaigns/spring/results/?start={day}&end={day}").content.decode()
    reversed_ = client.get("/office/campaigns/spring/results/?start=2026-03-02&end=2026-03-01").content.decode()
    all_time = client.get("/office/campaigns/spring/results/?start=&end=").content.decode()

    assert card(text, "granted").startswith("Points granted 300 ")
    assert card(text, "revenue") == "Revenue of those receipts 1,000.00\xa0₽"  # Boris's receipt was returned
    assert "The period starts after it ends." in reversed_ and 'data-card="granted"' not in reversed_
    assert card(all_time, "granted").startswith("Points granted 500 ") and "all time" in all_time


def test_each_table_downloads_with_its_raw_numbers(story, staff):
    client = signed_in(staff("marketer"))
    day = story["day"]
    query = f"?start={day.isoformat()}&end={(day + timedelta(days=1)).isoformat()}"
    base = "/office/campaigns/spring/results"

    versions = client.get(f"{base}/results-by-version.csv{query}")
    totals = json.loads(client.get(f"{base}/results.json{query}").content)
    book = load_workbook(BytesIO(client.get(f"{base}/results-by-day.xlsx{query}").content))

    assert versions["Content-Disposition"] == (
        f'attachment; filename="spring-results-by-version-{day:%Y%m%d}-{day + timedelta(days=1):%Y%m%d}.csv"')
    rows = list(csv.reader(StringIO(versions.content.decode("utf-8-sig"))))
    assert rows[0] == ["version", "went_live", "members", "grants", "points_desired", "points_granted", "points_cut",
                       "granted_share", "points_spent", "points_burned", "points_taken_back", "points_outstanding",
                       "receipts", "revenue"]
    assert rows[1][0] == "spring:v1" and rows[1][2:] == ["2", "3", "450", "400", "50", "0.8889", "60", "40", "200",
                                                        "100", "2", "2500.00"]
    assert rows[2][0] == "spring:v2" and rows[2][2:] == ["0", "0", "0", "0", "0", "", "0", "0", "0", "0", "0", "0.00"]
    assert totals == [{"start": day.isoformat(), "end": (day + timedelta(days=1)).isoformat(), "members": 2,
                       "grants": 3, "points_desired": 450, "points_granted": 400, "points_cut": 50,
                       "granted_share": 0.8889, "points_spent": 60, "points_burned": 40, "points_taken_back": 200,
                       "points_outstanding": 100, "receipts": 2, "revenue": "2500.00", "budget": 1000,
                       "budget_used": 300, "budget_used_share": 0.3, "budget_left": 700}]
    sheet = book.active
    assert [cell.value for cell in sheet[1]] == ["day", "members who earned", "points desired", "points granted",
                                                 "receipts that earned", "revenue of the receipts that earned"]
    assert [cell.value for cell in sheet[3]][1:] == [1, 150, 100, 1, 1500]
    assert sheet.cell(3, 6).number_format == '#,##0.00 "₽"' and sheet.cell(3, 3).number_format == "#,##0"
    assert client.get(f"{base}/nothing.csv").status_code == 404
    assert client.get(f"{base}/results.pdf").status_code == 404


def test_the_list_shows_each_campaigns_results_and_reads_them_for_all_campaigns_at_once(story, staff):
    client = signed_in(staff("auditor"))
    day = story["day"].isoformat()

    text = client.get("/office/campaigns/").content.decode()
    on_the_day = client.get(f"/office/campaigns/?start={day}&end={day}").content.decode()
    with CaptureQueriesContext(connection) as before:
        client.get("/office/campaigns/")
    for number in range(3):
        live_campaign(f"more-{number}", {"accrual": {"reward": "percent", "percent": "1"}}, budget=100)
    with CaptureQueriesContext(connection) as after:
        client.get("/office/campaigns/")

    spring = text[text.index('data-campaign="spring"'):]
    spring = spring[:spring.index("</tr>")]
    assert 'data-result="members">3<' in spring and ">500</a>" in spring
    assert 'data-result="budget-used">300 <small>(30.0\xa0%)</small>' in spring and 'budget-left">700<' in spring
    assert 'href="/office/campaigns/spring/results/?start=&amp;end="' in spring
    reviews = text[text.index('data-campaign="reviews"'):]
    assert 'data-result="members">1<' in reviews and 'data-result="budget-left">—<' in reviews
    assert f"/office/campaigns/spring/results/?start={day}&amp;end={day}" in on_the_day
    assert ">300</a>" in on_the_day[on_the_day.index('data-campaign="spring"'):]
    assert len(after.captured_queries) == len(before.captured_queries)


def test_the_figures_read_in_russian_as_russians_write_them(story, staff):
    text = signed_in(staff("marketer"), "ru").get("/office/campaigns/spring/results/").content.decode()

    # the date pickers hold ISO dates, the only form a browser's date input reads, in Russian too
    assert f'name="start" value="{clock.local_date(story["spring"].starts_at).isoformat()}"' in text
    assert card(text, "revenue").endswith("4\xa0500,00\xa0₽")
    assert card(text, "budget").startswith("Бюджет: израсходовано 300 30,0\xa0% из 1\xa0000")
    assert "Промо-кампании</a> › <a" in text


def test_the_campaign_page_links_to_its_results(story, staff):
    text = signed_in(staff("marketer")).get("/office/campaigns/spring/").content.decode()

    assert 'href="/office/campaigns/spring/results/"' in text
