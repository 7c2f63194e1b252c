"""Properties of the ledger services over random stories of operations, on a fresh member per example."""

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kopilka.core.errors import ApplicationError
from kopilka.ledger import services
from kopilka.ledger.models import Allocation, Entry
from kopilka.ledger.reconcile import reconcile
from kopilka.ledger.selectors import balance

from .conftest import T0, make_member, new_key

operation = st.one_of(
    st.tuples(st.just("accrue"), st.integers(1, 300), st.sampled_from(["base", "promo", "compensation"]),
              st.integers(1, 60)),
    st.tuples(st.just("spend"), st.integers(1, 400)),
    st.tuples(st.just("hold"), st.integers(1, 200)),
    st.tuples(st.just("capture"), st.integers(0, 5)),
    st.tuples(st.just("release"), st.integers(0, 5)),
    st.tuples(st.just("reverse"), st.integers(0, 5), st.sampled_from(["take_available", "negative", "block"])),
    st.tuples(st.just("return"), st.integers(0, 5)),
    st.tuples(st.just("expire"), st.integers(0, 90)),
    st.tuples(st.just("replay")),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(story=st.lists(operation, min_size=1, max_size=25))
def test_any_story_keeps_the_ledger_consistent(db, story):
    member = make_member()
    day = 0
    accruals, spends, holds, writes = [], [], [], []

    def at():
        return T0 + timedelta(days=day)

    for op in story:
        day += 1
        try:
            match op:
                case ("accrue", points, category, lifetime):
                    kwargs = dict(member_id=member.pk, points=points, category=category, lifetime_days=lifetime,
                                  actor="p", idempotency_key=new_key(), at=at())
                    accruals.append(services.accrue(**kwargs))
                    writes.append((services.accrue, kwargs))
                case ("spend", points):
                    kwargs = dict(member_id=member.pk, points=points, actor="p", idempotency_key=new_key(), at=at())
                    entry = services.spend(**kwargs)
                    spends.append(entry)
                    writes.append((services.spend, kwargs))
                    for lot_id in entry.allocations.values_list("lot", flat=True):
                        lot = entry.allocations.get(lot_id=lot_id).lot
                        assert lot.activates_at <= at() < lot.expires_at, "spent a lot that was not spendable"
                case ("hold", points):
                    holds.append(services.hold(member_id=member.pk, points=points, actor="p",
                                               idempotency_key=new_key(), at=at(), ttl_seconds=3600))
                case ("capture", i) if holds:
                    services.capture(hold_id=holds[i % len(holds)].pk, actor="p", idempotency_key=new_key())
                case ("release", i) if holds:
                    services.release(hold_id=holds[i % len(holds)].pk, actor="p")
                case ("reverse", i, policy) if accruals:
                    services.reverse_accrual(entry_id=accruals[i % len(accruals)].pk, actor="p",
                                             idempotency_key=new_key(), policy=policy, at=at())
                case ("return", i) if spends:
                    services.restore_spend(entry_id=spends[i % len(spends)].pk, actor="p",
                                           idempotency_key=new_key(), at=at())
                case ("expire", back):
                    services.expire(as_of=at() - timedelta(days=back))
                case ("replay",) if writes:
                    fn, kwargs = writes[-1]
                    count = Entry.objects.count()
                    assert fn(**kwargs).pk is not None
                    assert Entry.objects.count() == count, "a replay booked something"
        except ApplicationError:
            pass
        report = reconcile(member_id=member.pk)
        assert report.clean, report.discrepancies
        b = balance(member.pk, at=at())
        assert b.available >= 0 and b.held >= 0 and b.pending >= 0
        assert b.total == b.available + b.pending + b.held - b.debt + sum(
            lot.remaining - lot.held for lot in b.lots if lot.state == "expired"
        )
    # Nothing ever drew more from a lot than it had.
    for allocation in Allocation.objects.filter(lot__account__member=member).select_related("lot"):
        assert allocation.lot.remaining >= 0 or allocation.lot.is_debt
