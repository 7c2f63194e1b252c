"""Random but plausible members and purchases for the demo data set (pure: no database access).

Everything comes from one `random.Random`, so the same seed gives the same data set. The programme they
describe is the seeds' one: a manufacturer of medical-aesthetics products selling to doctors and clinics.
"""

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from kopilka.customers.validators import legal_entity_inn

# (code, name) pairs that the demo members are tagged and flagged with.
TAGS = [
    ("doctor", "Врач"),
    ("cosmetologist", "Врач-косметолог"),
    ("dermatologist", "Дерматолог"),
    ("clinic", "Клиника"),
    ("clinic-category-a", "Клиника категории A"),
]
ELIGIBILITY_FLAGS = [
    ("certified-injector", "Сертифицированный инъекционист"),
    ("trained-peels", "Обучен работе с пилингами"),
]

# The demo catalogue: (code, name, parent) of the product groups and (sku, name, price in roubles, group).
GROUPS = [
    ("fillers", "Филлеры", None),
    ("ha", "Филлеры на гиалуроновой кислоте", "fillers"),
    ("biorev", "Биоревитализанты", None),
    ("meso", "Мезотерапия", None),
    ("peels", "Пилинги", None),
    ("care", "Домашний уход", None),
    ("consumables", "Расходные материалы", None),
]
PRODUCTS = [
    ("FILLER-HA-1ML", "Филлер HA 1 мл", Decimal("6900.00"), "ha"),
    ("FILLER-HA-2ML", "Филлер HA 2 мл", Decimal("12400.00"), "ha"),
    ("BIOREV-2ML", "Биоревитализант 2 мл", Decimal("8300.00"), "biorev"),
    ("MESO-COCKTAIL-5ML", "Мезококтейль 5 мл", Decimal("3150.00"), "meso"),
    ("PEEL-TCA-15", "Пилинг ТСА 15 %", Decimal("2480.00"), "peels"),
    ("PEEL-GLYCOLIC-50", "Гликолевый пилинг 50 %", Decimal("1990.00"), "peels"),
    ("CREAM-POSTPROC-50", "Постпроцедурный крем 50 мл", Decimal("1450.50"), "care"),
    ("CREAM-SPF50", "Крем SPF 50", Decimal("990.00"), "care"),
    ("SERUM-VIT-C", "Сыворотка с витамином C", Decimal("1720.00"), "care"),
    ("CANNULA-25G", "Канюля 25G", Decimal("310.00"), "consumables"),
]

# Where the members live: region codes with weights (Moscow and St Petersburg lead, as in the seeds' plans).
REGION_WEIGHTS = {
    "77": 30, "78": 14, "50": 8, "54": 5, "66": 5, "16": 4, "23": 5, "52": 3, "63": 3, "61": 3,
    "02": 3, "24": 3, "74": 3, "59": 2, "36": 2, "34": 2, "38": 2, "25": 2, "27": 1, "39": 1,
}
REGISTRATION_SOURCES = {"site": 45, "pos": 25, "onec": 15, "event": 10, "import": 5}

_MALE_FIRST = ["Алексей", "Андрей", "Дмитрий", "Сергей", "Михаил", "Иван", "Павел", "Егор", "Артём", "Олег"]
_FEMALE_FIRST = [
    "Анна", "Мария", "Елена", "Ольга", "Татьяна", "Наталья", "Ирина", "Екатерина", "Светлана", "Юлия",
    "Ксения", "Дарья", "Виктория", "Алина", "Полина",
]
_FATHERS = ["Александров", "Сергеев", "Владимиров", "Николаев", "Викторов", "Андреев", "Игорев", "Петров"]
# Surnames in their masculine form; the feminine adds "а".
_SURNAMES = [
    "Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Соколов", "Михайлов", "Новиков", "Фёдоров",
    "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров", "Павлов", "Козлов", "Степанов",
    "Николаев", "Орлов", "Андреев", "Макаров", "Никитин", "Захаров", "Зайцев", "Соловьёв", "Борисов",
]
_CLINIC_WORDS = ["Эстетика", "Гармония", "Дерма", "Бьюти Мед", "Престиж", "Линия", "Виталь", "Элегия", "Аврора"]
_CLINIC_FORMS = ["ООО «Клиника {}»", "ООО «Центр косметологии {}»", "ООО «{}»", "АО «Медицинский центр {}»"]
_EMAIL_DOMAINS = ["example.ru", "example.com", "example.org"]


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


@dataclass
class MemberProfile:
    """What the demo knows of a member before it exists: the create_member arguments and a buying habit."""

    customer_id: str
    fields: dict
    consents: list[str]
    orders_per_year: float
    mean_receipt: Decimal
    dropout: float = 0.0  # the chance of never buying again after each purchase (members do leave)
    purchases: list["Purchase"] = field(default_factory=list)


@dataclass
class Purchase:
    order_id: str
    customer_id: str
    purchased_at: datetime
    region: str
    lines: list[tuple[str, int, Decimal]]

    @property
    def total(self) -> Decimal:
        return sum((quantity * price for _, quantity, price in self.lines), Decimal(0))


def member_profiles(rng: random.Random, count: int, start: datetime, end: datetime) -> list[MemberProfile]:
    """`count` members registered between `start` and `end`; about one in eight is a clinic (legal entity)."""
    span = (end - start).total_seconds()
    profiles = []
    for n in range(1, count + 1):
        registered_at = start + timedelta(seconds=rng.random() ** 1.3 * span * 0.9)
        region = _weighted(rng, REGION_WEIGHTS)
        common = {
            "region_code": region,
            "registration_source": _weighted(rng, REGISTRATION_SOURCES),
            "registered_at": registered_at,
            "phone": f"+79{rng.randrange(10**9):09d}",
        }
        if rng.random() < 0.125:
            fields, habit = _clinic(rng, n), (rng.uniform(4, 14), Decimal(rng.randrange(15_000, 60_000)))
        else:
            fields, habit = _person(rng, n), (rng.uniform(0.7, 8), Decimal(rng.randrange(2_500, 14_000)))
        fields.update(common)
        consents = [channel for channel, share in (("email", 0.7), ("sms", 0.5), ("push", 0.2)) if rng.random() < share]
        profiles.append(MemberProfile(f"C{n:06d}", fields, consents, habit[0], habit[1], rng.betavariate(1, 6)))
    return profiles


def _person(rng: random.Random, n: int) -> dict:
    female = rng.random() < 0.78
    surname = rng.choice(_SURNAMES) + ("а" if female else "")
    father = rng.choice(_FATHERS)
    tags = ["doctor"] + rng.sample(["cosmetologist", "dermatologist"], k=rng.choice([0, 1, 1, 2]))
    return {
        "kind": "individual",
        "last_name": surname,
        "first_name": rng.choice(_FEMALE_FIRST if female else _MALE_FIRST),
        "middle_name": father + ("на" if female else "ич"),
        "gender": "female" if female else "male",
        "birthday": date(rng.randrange(1962, 2001), rng.randrange(1, 13), rng.randrange(1, 29)),
        "email": f"doctor{n}@{rng.choice(_EMAIL_DOMAINS)}",
        "tags": tags,
        "eligibility_flags": [code for code, _ in ELIGIBILITY_FLAGS if rng.random() < 0.35],
    }


def _clinic(rng: random.Random, n: int) -> dict:
    name = rng.choice(_CLINIC_FORMS).format(f"{rng.choice(_CLINIC_WORDS)} {n}")
    inn = legal_entity_inn(f"{rng.randrange(10, 92):02d}{n:07d}")
    return {
        "kind": "legal_entity",
        "legal_name": name,
        "inn": inn,
        "kpp": f"{inn[:4]}01001",
        "email": f"clinic{n}@{rng.choice(_EMAIL_DOMAINS)}",
        "tags": ["clinic"] + (["clinic-category-a"] if rng.random() < 0.3 else []),
        "eligibility_flags": ["certified-injector"],
    }


def purchases_of(rng: random.Random, profile: MemberProfile, end: datetime, first_order_no: int) -> list[Purchase]:
    """The member's receipts from registration to `end`: a Poisson process of their rate that may stop after any
    purchase (the member's dropout chance), lines from the catalogue around their mean receipt. Order ids continue
    from `first_order_no`."""
    registered_at = profile.fields["registered_at"]
    moment, purchases = registered_at, []
    mean_gap_days = 365 / profile.orders_per_year
    while True:
        moment += timedelta(days=rng.expovariate(1 / mean_gap_days), hours=rng.uniform(-4, 4))
        if moment >= end:
            return purchases
        moment = max(moment, registered_at + timedelta(minutes=5))
        order_id = f"D{first_order_no + len(purchases):07d}"
        lines = receipt_lines(rng, profile.mean_receipt)
        purchases.append(Purchase(order_id, profile.customer_id, moment, profile.fields["region_code"], lines))
        if rng.random() < profile.dropout:
            return purchases


def receipt_lines(rng: random.Random, around: Decimal) -> list[tuple[str, int, Decimal]]:
    """One to five distinct products whose quantities bring the receipt near `around` roubles."""
    products = rng.sample(PRODUCTS, k=rng.choice([1, 1, 2, 2, 3, 4, 5]))
    share = around / len(products)
    return [(sku, max(1, int(share / price * Decimal(rng.uniform(0.5, 1.5)))), price) for sku, _, price, _ in products]


def non_member_purchases(
    rng: random.Random, count: int, start: datetime, end: datetime, first_order_no: int
) -> list[Purchase]:
    """Receipts of buyers who are not members, kept so analytics can compare members with everyone else."""
    span = (end - start).total_seconds()
    return [
        Purchase(
            f"D{first_order_no + i:07d}",
            "",
            start + timedelta(seconds=rng.random() * span),
            _weighted(rng, REGION_WEIGHTS),
            receipt_lines(rng, Decimal(rng.randrange(1_500, 9_000))),
        )
        for i in range(count)
    ]
