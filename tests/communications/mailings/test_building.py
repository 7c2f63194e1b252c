"""A mailing starts at its moment: its segment is written down with each member's group — the programme's control
group, the held-out share, a variant — by the hash, alike in SQL and in Python; the variants' members get outbox
messages decided by the outbox's rules in one statement, spread by the send rate; held-out members get none."""

from datetime import timedelta
from decimal import Decimal

import pytest

from kopilka.communications.mailings import audience, building
from kopilka.communications.mailings import services as mailings
from kopilka.communications.mailings.models import Mailing, MailingRecipient
from kopilka.communications.models import Message
from kopilka.core import holdout, programme
from kopilka.core.models import ProgrammeSettings
from kopilka.customers import services as members
from tests.communications.mailings.conftest import draft, member

pytestmark = pytest.mark.django_db


def started(mailing: Mailing, moments) -> Mailing:
    """The mailing scheduled for now and the worker's tick: started and its messages written."""
    mailings.schedule(mailing.pk, moments.now, actor="t")
    assert building.advance(moments.now)["started"] == 1
    return Mailing.objects.get(pk=mailing.pk)


def groups(mailing: Mailing) -> dict[int, int]:
    return dict(MailingRecipient.objects.filter(mailing=mailing).values_list("member_id", "group"))


def test_each_member_is_in_the_group_the_hash_gives_in_python_and_sql(moments):
    ProgrammeSettings.objects.update(control_group_percent=Decimal("10"))
    programme.forget()
    people = [member(f"m{n}", email=True) for n in range(120)]
    mailing = started(draft(variants=(("spring-a", 30), ("spring-b", 70)), holdout="20"), moments)

    found = groups(mailing)
    expected = {p.pk: audience.group_of(p.pk, mailing_id=mailing.pk, holdout_percent=Decimal(20), shares=[30, 70],
                                        at=moments.now) for p in people}
    assert found == expected
    assert mailing.audience == 120
    assert {g for g in found.values()} == {-2, -1, 0, 1}  # 120 members land in every group
    held = [pk for pk in found if found[pk] == -1]
    assert held == [pk for pk in found if not holdout.in_global_control_group(pk, moments.now)
                    and holdout.bucket(pk, holdout.salt_of(f"mailing:{mailing.pk}")) < 2000]
    with_message = set(MailingRecipient.objects.filter(mailing=mailing, message__isnull=False)
                       .values_list("member_id", flat=True))
    assert with_message == {pk for pk, g in found.items() if g >= 0}


def test_a_variant_is_cut_at_its_cumulative_share_of_the_buckets():
    assert audience.cuts([30, 70]) == [3000, 10000]
    assert audience.cuts([25, 25, 50]) == [2500, 5000, 10000]
    with pytest.raises(ValueError):
        audience.cuts([30, 60])


def test_the_outbox_rules_decide_each_message_in_the_statement_that_writes_them(moments):
    anna = member("Анна", email=True)
    boris = member("Борис", address="", sms=True)  # no address
    vera = member("Вера", email=False)  # withdrew
    gleb = member("Глеб")  # never asked
    dina = member("Дина", email=True)
    for n in (1, 2):  # the cap is 2 marketing messages in 7 days
        Message.objects.create(member=dina, channel="email", purpose="marketing", kind="earlier", source=str(n),
                               to="x", subject="s", body="b", status="sent", created_at=moments.now - timedelta(days=1))
    mailing = started(draft(), moments)

    fate = {m.member_id: (m.status, m.skip_reason) for m in Message.objects.filter(kind="mass_mailing")}
    assert fate == {anna.pk: ("queued", ""), boris.pk: ("skipped", "no_address"),
                    vera.pk: ("skipped", "unsubscribed"), gleb.pk: ("skipped", "no_consent"),
                    dina.pk: ("skipped", "frequency_cap")}
    mailing.refresh_from_db()
    assert (mailing.audience, mailing.built, mailing.released, mailing.built_at) == (5, 5, 1, moments.now)


def test_the_send_rate_spreads_the_queued_messages_over_the_minutes(moments):
    people = [member(f"m{n}", email=True) for n in range(5)]
    member("skipped")  # no consent: not counted against the rate
    mailing = started(draft(rate=2), moments)

    start = moments.now.replace(microsecond=0)
    due = [m.next_try_at - start for m in Message.objects.filter(kind="mass_mailing", status="queued")
           .order_by("member_id")]
    assert due == [timedelta(0), timedelta(0), timedelta(minutes=1), timedelta(minutes=1), timedelta(minutes=2)]
    assert Mailing.objects.get(pk=mailing.pk).released == len(people)


def test_a_build_in_chunks_continues_the_rate_and_writes_each_message_once(moments, monkeypatch):
    monkeypatch.setattr(building, "CHUNK", 2)
    for n in range(5):
        member(f"m{n}", email=True)
    mailing = draft(rate=3)
    mailings.schedule(mailing.pk, moments.now, actor="t")
    assert building.advance(moments.now) == {"started": 1, "messages": 5, "finished": 0}

    start = moments.now.replace(microsecond=0)
    due = sorted((m.next_try_at - start).seconds // 60 for m in Message.objects.filter(kind="mass_mailing"))
    assert due == [0, 0, 0, 1, 1]
    assert Message.objects.filter(kind="mass_mailing").count() == 5
    assert building.advance(moments.now) == {"started": 0, "messages": 0, "finished": 0}
    assert Mailing.objects.get(pk=mailing.pk).built == 5


def test_the_segment_is_the_conditions_tree_as_it_holds_at_the_start(moments):
    anna = member("Анна", email=True)
    members.create_member(actor="t", kind="legal_entity", legal_name="ООО Клиника", inn="7707083893",
                          email="clinic@example.ru")
    blocked = member("Борис", email=True)
    members.block_member(member_id=blocked.pk, actor="t", reason="fraud")
    mailing = started(draft(conditions={"type": "member_kind", "kind": "individual"}), moments)
    assert set(groups(mailing)) == {anna.pk}


def test_a_mailing_not_yet_due_does_not_start(moments):
    member("Анна", email=True)
    mailing = draft()
    mailings.schedule(mailing.pk, moments.now + timedelta(minutes=5), actor="t")
    assert building.advance(moments.now)["started"] == 0
    assert Mailing.objects.get(pk=mailing.pk).status == "scheduled"
    assert not MailingRecipient.objects.exists()
