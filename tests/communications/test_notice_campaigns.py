"""Campaign notices are promo offers: "started" and "ending in N days" go once per campaign to the members its
conditions select, less those it holds out and the programme's global control group, over a real SMTP server. They
are written a chunk of members at a time, each decided as `services.notify` decides one."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from kopilka.campaigns import holdout, selectors, services
from kopilka.communications import notice_campaigns
from kopilka.communications import services as outbox
from kopilka.communications.models import Message
from kopilka.communications.notice_campaigns import campaign_notices
from kopilka.communications.notice_kinds import Kind
from kopilka.communications.notice_models import CampaignNoticeRun
from kopilka.core import clock, programme
from kopilka.core.holdout import in_global_control_group
from kopilka.customers import services as customers
from kopilka.customers.models import Consent, Member, Region, Tag
from tests.communications.notice_helpers import NOON, reachable, read, switch_on, work

pytestmark = pytest.mark.django_db


@pytest.fixture
def crowd(moments, monkeypatch):
    """Forty reachable members, a programme control group of 20 % and a public address for unsubscribe links. The
    campaigns' rules are read afresh: kept rules are keyed by version id and moment, which a rolled back test on
    SQLite hands out again."""
    monkeypatch.setattr(selectors, "_FROZEN", {})
    moments.now = NOON
    programme.change({"CONTROL_GROUP_PERCENT": "20", "PUBLIC_URL": "https://bonus.example.ru"}, actor="t")
    return [reachable(f"Участник-{n}", f"m{n}@example.ru", first_name=f"Имя{n}") for n in range(40)]


def spring(share: str = "30", conditions: dict | None = None) -> None:
    """An active promo campaign of ten days holding out `share` % of its members."""
    services.create_campaign(code="spring", name="Весна (внутр.)", public_name="Весна", type="promo",
                             starts_at=clock.now(), ends_at=clock.now() + timedelta(days=10), actor="t",
                             rules={"accrual": {"reward": "percent", "percent": "5"}, "holdout_percent": share,
                                    "conditions": conditions})
    services.change_status(code="spring", action="activate", actor="t")


def offered_ids(member_ids) -> list[int]:
    """The ids, in order, of the members neither group holds out."""
    now = clock.now()
    return sorted(pk for pk in member_ids
                  if not in_global_control_group(pk, now) and not holdout.held_out(pk, "spring", Decimal(30)))


def offered(members) -> set[str]:
    """The addresses of the members neither group holds out."""
    told = set(offered_ids([m.pk for m in members]))
    return {m.email for m in members if m.pk in told}


def test_a_started_campaign_is_told_once_to_its_members_less_both_control_groups(smtp, crowd):
    switch_on(Kind.CAMPAIGN_STARTED)
    spring()
    expected = offered(crowd)
    assert 0 < len(expected) < 30  # both groups hold somebody out

    assert campaign_notices() == len(expected) and campaign_notices() == 0
    assert work() == len(expected) and work() == 0
    mails = read(smtp)
    assert {to for to, _subject, _text in mails} == expected and len(mails) == len(expected)
    assert {subject for _to, subject, _text in mails} == {"Новая акция: Весна"}
    anyone = next(text for _to, _subject, text in mails)
    assert anyone.startswith("Имя") and ", с 16.06 действует акция «Весна» — до 26.06." in anyone
    assert "\r\n\r\nОтписаться от рассылки: https://bonus.example.ru/u/" in anyone
    assert set(Message.objects.values_list("purpose", flat=True)) == {"marketing"}
    assert CampaignNoticeRun.objects.get().members == len(expected)


def test_a_campaign_ending_in_n_days_is_told_then_and_only_to_members_its_conditions_select(smtp, crowd, moments):
    switch_on(Kind.CAMPAIGN_ENDING, days=3)
    tagged = {m.pk for m in crowd[:20]}
    vip = Tag.objects.create(code="vip", name="VIP")
    for member in crowd[:20]:
        member.tags.add(vip)
    spring(conditions={"type": "tags", "tags": ["vip"], "match": "any"})

    assert campaign_notices() == 0  # ten days left
    moments.advance(days=7, seconds=1)
    expected = {m.email for m in crowd if m.pk in tagged} & offered(crowd)
    assert campaign_notices() == len(expected) > 0
    assert work() == len(expected)
    assert {to for to, _s, _t in read(smtp)} == expected
    assert {subject for _to, subject, _text in read(smtp)} == {"Акция «Весна» заканчивается 26.06"}
    assert {m.relevant_until for m in Message.objects.all()} == {NOON + timedelta(days=10)}


def test_a_campaign_started_while_the_notice_was_off_is_never_told(smtp, crowd, moments):
    spring()
    assert campaign_notices() == 0
    moments.advance(minutes=1)
    switch_on(Kind.CAMPAIGN_STARTED)
    assert campaign_notices() == 0 and Message.objects.count() == 0 and CampaignNoticeRun.objects.count() == 0


def test_a_run_cut_short_is_taken_up_again_after_its_last_chunk_and_tells_every_member_once(smtp, crowd,
                                                                                              monkeypatch):
    switch_on(Kind.CAMPAIGN_STARTED)
    spring()
    expected, ids = offered(crowd), offered_ids([m.pk for m in crowd])
    assert len(ids) > 14
    monkeypatch.setattr(notice_campaigns, "CHUNK", 7)
    write, written = notice_campaigns._write, []

    def dying(*args):
        written.append(write(*args))
        if len(written) == 3:
            raise RuntimeError("the worker died while writing its third chunk")
        return written[-1]

    monkeypatch.setattr(notice_campaigns, "_write", dying)
    with pytest.raises(RuntimeError):
        campaign_notices()

    run = CampaignNoticeRun.objects.get()
    assert written == [7, 7, 7] and run.done_at is None
    assert run.members == 14 and run.through_member == ids[13]
    assert sorted(Message.objects.values_list("member_id", flat=True)) == ids[:14]  # the third chunk is gone whole

    monkeypatch.setattr(notice_campaigns, "_write", write)
    assert campaign_notices() == len(ids) - 14 and campaign_notices() == 0
    assert work() == len(expected)
    assert sorted(to for to, _subject, _text in read(smtp)) == sorted(expected)
    run.refresh_from_db()
    assert run.members == len(ids) and run.done_at == NOON and Message.objects.count() == len(ids)


@pytest.fixture
def thousands(moments, monkeypatch):
    """3,000 members with an address and consent to e-mail, no programme control group, and a public address."""
    monkeypatch.setattr(selectors, "_FROZEN", {})
    moments.now = NOON
    programme.change({"CONTROL_GROUP_PERCENT": "0", "PUBLIC_URL": "https://bonus.example.ru"}, actor="t")
    Member.objects.bulk_create([Member(last_name=f"Участник {n}", email=f"m{n}@example.ru", registered_at=NOON)
                                for n in range(3_000)])
    members = sorted(Member.objects.values_list("pk", flat=True))
    Consent.objects.bulk_create([Consent(member_id=pk, channel="email", granted=True, decided_at=NOON, source="form")
                                 for pk in members])
    return members


def test_a_notice_to_three_thousand_members_takes_the_same_few_statements_per_chunk_of_a_thousand(thousands,
                                                                                                   monkeypatch):
    switch_on(Kind.CAMPAIGN_STARTED)
    spring(share="0")
    monkeypatch.setattr(notice_campaigns, "CHUNK", 1_000)
    monkeypatch.setattr(programme, "CACHE_SECONDS", 3_600.0)  # one read of the settings, however long it takes
    programme.forget()

    with CaptureQueriesContext(connection) as statements:
        assert campaign_notices() == 3_000

    # To begin: the settings, the live campaigns and their first activations, the run made, the programme's
    # settings (11). Each chunk: its transaction, the run, its members, the time zones, (PostgreSQL: the members
    # locked,) one INSERT, the run's cursor (7 or 8). At the end: none left, the run done (5).
    per_chunk = 8 if connection.vendor == "postgresql" else 7
    assert len(statements.captured_queries) == 11 + 3 * per_chunk + 5
    assert sorted(Message.objects.values_list("member_id", flat=True)) == thousands
    assert set(Message.objects.values_list("status", "purpose", "relevant_until")) == {
        ("queued", "marketing", NOON + timedelta(hours=72))}
    run = CampaignNoticeRun.objects.get()
    assert (run.members, run.through_member, run.done_at) == (3_000, thousands[-1], NOON)


class Undone(Exception):
    pass


def one_by_one(member_ids, relevant_until) -> dict[int, tuple]:
    """What `services.notify` records for each member now, each record undone again."""
    found = {}
    for member_id in member_ids:
        try:
            with transaction.atomic():
                message = outbox.notify(member_id, kind="probe", source="probe", subject="s", body="b",
                                        purpose="marketing", relevant_until=relevant_until)
                found[member_id] = (message.status, message.skip_reason, message.to, message.next_try_at)
                raise Undone
        except Undone:
            pass
    return found


def test_each_notice_is_decided_in_the_statement_as_notify_decides_one(crowd, moments):
    """Members in every state the rules tell apart: reachable, without an address, never asked, unsubscribed, at
    the frequency cap, and in quiet hours on their region's clock (21:00 in Kamchatka at noon in Moscow)."""
    programme.change({"CONTROL_GROUP_PERCENT": "0", "MARKETING_CAP_MESSAGES": 2}, actor="t")
    kamchatka = Region.objects.create(code="T41", name="Тестовый край", time_zone="Asia/Kamchatka")
    told = [reachable("Первый", "first@example.ru"), reachable("Без адреса", ""),
            customers.create_member(actor="t", last_name="Не спрошен", email="never@example.ru"),
            reachable("Отписался", "gone@example.ru"), reachable("Много писем", "busy@example.ru"),
            reachable("Дальний", "far@example.ru")]
    _first, _no_address, _never_asked, unsubscribed, capped, far_east = told
    moments.advance(seconds=1)
    Consent.objects.create(member=unsubscribed, channel="email", granted=False, decided_at=clock.now())
    for n in range(2):
        Message.objects.create(member=capped, kind="earlier", source=f"earlier:{n}", subject="s", body="b",
                               channel="email", purpose="marketing", status="sent", created_at=NOON)
    Member.objects.filter(pk=far_east.pk).update(region=kamchatka)
    moments.advance(seconds=1)
    switch_on(Kind.CAMPAIGN_STARTED)
    spring(share="0")
    relevant_until = clock.now() + timedelta(hours=72)
    expected = one_by_one([m.pk for m in told], relevant_until)

    assert campaign_notices() == len(crowd) + len(told)

    written = {m.member_id: (m.status, m.skip_reason, m.to, m.next_try_at)
               for m in Message.objects.filter(kind=Kind.CAMPAIGN_STARTED, member__in=told)}
    assert written == expected
    assert [expected[m.pk][:2] for m in told] == [
        ("queued", ""), ("skipped", "no_address"), ("skipped", "no_consent"), ("skipped", "unsubscribed"),
        ("skipped", "frequency_cap"), ("queued", "")]
    assert expected[far_east.pk][3] == datetime(2026, 6, 16, 21, 0, tzinfo=UTC)  # 09:00 the next day there
    assert set(Message.objects.filter(kind=Kind.CAMPAIGN_STARTED).values_list("relevant_until", flat=True)) == {
        relevant_until}
