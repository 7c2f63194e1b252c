import random
from datetime import UTC, datetime

from kopilka.customers.validators import inn_checksum_is_valid, legal_entity_inn
from kopilka.seed.profiles import member_profiles, purchases_of

START = datetime(2025, 5, 1, tzinfo=UTC)
END = datetime(2026, 11, 1, tzinfo=UTC)


def _data_set(seed: int):
    rng = random.Random(seed)
    profiles = member_profiles(rng, 50, START, END)
    return [(p.fields, [(x.order_id, x.purchased_at, x.lines) for x in purchases_of(rng, p, END, 1)]) for p in profiles]


def test_the_same_seed_gives_the_same_members_and_purchases_and_another_seed_does_not():
    assert _data_set(5) == _data_set(5)
    assert _data_set(5) != _data_set(6)


def test_purchases_fall_between_registration_and_the_end_and_cost_something():
    rng = random.Random(1)
    for profile in member_profiles(rng, 50, START, END):
        for purchase in purchases_of(rng, profile, END, 1):
            assert profile.fields["registered_at"] < purchase.purchased_at < END
            assert purchase.total > 0


def test_clinics_get_valid_inns():
    rng = random.Random(2)
    inns = [p.fields["inn"] for p in member_profiles(rng, 200, START, END) if p.fields["kind"] == "legal_entity"]

    assert inns and all(inn_checksum_is_valid(inn) and len(inn) == 10 for inn in inns)
    assert legal_entity_inn("770708389") == "7707083893"
