"""k-means clusters on payment behaviour (SPEC §7.3): the features by their definitions, the chosen k and the
membership for clearly separated behaviours, the per-cluster table with exact averages, the picture, the command."""

import json
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import count

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from kopilka.analytics.data.features import behaviour
from kopilka.analytics.measures import clusters as clustering
from kopilka.analytics.measures.clusters import CannotCluster, cluster
from kopilka.analytics.presentation.charts import scatter_svg
from kopilka.catalog.models import Product
from kopilka.catalog.services import upsert_group
from kopilka.customers import services as members
from kopilka.orders.models import Order, OrderLine

pytestmark = pytest.mark.django_db
AS_OF = date(2026, 3, 31)
SVG = "{http://www.w3.org/2000/svg}"
_numbers = count(1)


def buy(member, when, lines, *, status=Order.Status.COMPLETED, total=None):
    """An order of (sku, quantity, amount[, returned quantity]) lines; `when` is a date (noon UTC) or a datetime."""
    if isinstance(when, date) and not isinstance(when, datetime):
        when = datetime(when.year, when.month, when.day, 12, tzinfo=UTC)
    amounts = [Decimal(line[2]) for line in lines]
    order = Order.objects.create(member=member, source="pos", external_id=f"c-{next(_numbers)}", purchased_at=when,
                                 total=Decimal(total) if total is not None else sum(amounts, Decimal(0)),
                                 status=status)
    OrderLine.objects.bulk_create(
        OrderLine(order=order, line_no=n, sku=line[0], quantity=Decimal(line[1]), price=Decimal(line[2]) /
                  Decimal(line[1]), amount=Decimal(line[2]), returned_quantity=Decimal(line[3] if len(line) > 3 else 0))
        for n, line in enumerate(lines, start=1))
    return order


@pytest.fixture
def catalogue(db):
    """Top-level groups Food, Electronics (with Phones under it), Accessories and Clothes, a product in each."""
    groups = {"food": upsert_group(code="food", name="Продукты")[0],
              "electronics": upsert_group(code="electronics", name="Электроника")[0]}
    groups["phones"] = upsert_group(code="phones", name="Телефоны", parent="electronics")[0]
    groups["accessories"] = upsert_group(code="accessories", name="Аксессуары")[0]
    groups["clothes"] = upsert_group(code="clothes", name="Одежда")[0]
    for sku, group in [("MILK", "food"), ("PHONE", "phones"), ("CASE", "accessories"), ("COAT", "clothes")]:
        Product.objects.create(sku=sku, name=sku.title(), group=groups[group], price=Decimal("1"))
    return groups


@pytest.fixture
def base(catalogue):
    """Three behaviours, eight members each (i = 0..7):
    - frequent small buyers: 10 + i % 3 purchases a week apart, the last i % 4 days before the as-of date, each
      of 300 + 10·i of food; LTVs 3000, 3410, 3840, 3300, 3740, 4200, 3600, 4070 — average 3645.00;
    - rare big buyers: 3 purchases 80 + 2·i days apart, the last 20 + i days before, each a phone for 18000 + 500·i
      and a case for 2000 — average LTV 3 × 21750 = 65250.00, average gap 87 days;
    - one-off buyers: one coat for 1000 + 50·i, 200 + 10·i days before — average LTV 1175.00.
    Not counted: a cancelled order, an order after the as-of date, a non-member's order; one member never bought."""
    people = {"frequent": [], "big": [], "once": []}
    for i in range(8):
        frequent = members.create_member(actor="t", last_name=f"Частый {i}")
        last = AS_OF - timedelta(days=i % 4)
        for week in range(10 + i % 3):
            buy(frequent, last - timedelta(days=7 * week), [("MILK", "1", 300 + 10 * i)])
        big = members.create_member(actor="t", last_name=f"Крупный {i}")
        last = AS_OF - timedelta(days=20 + i)
        for step in range(3):
            buy(big, last - timedelta(days=(80 + 2 * i) * step), [("PHONE", "1", 18000 + 500 * i), ("CASE", "1", 2000)])
        once = members.create_member(actor="t", last_name=f"Разовый {i}")
        buy(once, AS_OF - timedelta(days=200 + 10 * i), [("COAT", "1", 1000 + 50 * i)])
        people["frequent"].append(frequent.pk)
        people["big"].append(big.pk)
        people["once"].append(once.pk)
        if i == 0:
            buy(frequent, AS_OF, [("PHONE", "1", 90000)], status=Order.Status.CANCELLED)
            buy(frequent, AS_OF + timedelta(days=1), [("PHONE", "1", 90000)])
    buy(None, AS_OF, [("PHONE", "1", 90000)])
    members.create_member(actor="t", last_name="Без покупок")
    return people


def clusters_of(result) -> dict[int, set[int]]:
    by_number = {}
    for member_id, number in zip(result.member_id.tolist(), result.cluster.tolist(), strict=True):
        by_number.setdefault(number, set()).add(member_id)
    return by_number


# --- features ---------------------------------------------------------------------------------------------------------


def test_features_follow_their_definitions(catalogue):
    anna = members.create_member(actor="t", last_name="Анна")
    buy(anna, datetime(2026, 1, 1, 10, tzinfo=UTC), [("PHONE", "1", "1000"), ("UNKNOWN", "1", "200")])
    buy(anna, datetime(2026, 1, 1, 15, tzinfo=UTC), [("MILK", "2", "300", "1")])  # one of two returned
    buy(anna, date(2026, 1, 11), [("MILK", "1", "500")])
    buy(anna, datetime(2026, 1, 30, 22, 30, tzinfo=UTC), [], total="100")  # 31 January in Moscow, no lines
    buy(anna, date(2026, 2, 5), [("COAT", "1", "999")], status=Order.Status.CANCELLED)
    buy(anna, datetime(2026, 2, 10, 21, 30, tzinfo=UTC), [("COAT", "1", "70")])  # 11 February in Moscow
    boris = members.create_member(actor="t", last_name="Борис")
    buy(boris, date(2026, 2, 1), [("COAT", "1", "500")])
    members.create_member(actor="t", last_name="Без покупок")

    data = behaviour(date(2026, 2, 10))

    assert data.member_id.tolist() == [anna.pk, boris.pk]
    assert data.deals.tolist() == [4, 1]
    assert data.revenue.tolist() == [210000, 50000]  # kopecks: 1200 + 300 + 500 + 100; 500
    assert data.purchase_days.tolist() == [3, 1]  # 1, 11 and 31 January
    assert data.span.tolist() == [30, 0]
    assert data.since_last.tolist() == [10, 9]
    assert data.mean_gap.tolist() == [15.0, 0.0]  # a one-off buyer gets 0 ...
    assert data.repeat.tolist() == [True, False]  # ... and is marked as one
    assert data.mean_receipt.tolist() == [52500.0, 50000.0]
    assert data.category_ids == [0, catalogue["food"].pk, catalogue["electronics"].pk, catalogue["clothes"].pk]
    assert data.category_names == ["no product group", "Продукты", "Электроника", "Одежда"]
    # phones count for their root, Electronics; the returned milk is taken off; the unknown SKU has no group
    assert data.spent.toarray().tolist() == [[20000, 65000, 100000, 0], [0, 0, 0, 50000]]
    assert data.shares().toarray() == pytest.approx(np.array([[20 / 185, 65 / 185, 100 / 185, 0], [0, 0, 0, 1]]))


def test_no_purchases_no_features(db):
    members.create_member(actor="t", last_name="Без покупок")
    data = behaviour(AS_OF)
    assert (len(data), data.category_ids, data.spent.shape) == (0, [], (0, 0))


# --- clustering -------------------------------------------------------------------------------------------------------


def test_separated_behaviours_make_three_clusters(base):
    result = cluster(AS_OF)

    assert result.k == 3
    assert list(result.silhouettes) == [2, 3, 4, 5, 6, 7, 8]
    assert all(score is not None for score in result.silhouettes.values())
    assert result.silhouettes[3] == max(result.silhouettes.values())
    assert clusters_of(result) == {1: set(base["big"]), 2: set(base["frequent"]), 3: set(base["once"])}


def test_the_table_has_the_decks_columns_with_exact_averages(base):
    table = cluster(AS_OF).table()

    assert table.keys == ["cluster", "members", "member_share", "average_ltv", "average_deals",
                          "average_days_between", "top_categories", "turnover_share"]
    total = Decimal(8 * 65250 + 29160 + 9400)
    assert table.rows == [
        [1, 8, 1 / 3, Decimal("65250.00"), 3.0, 87.0, "Электроника, Аксессуары", float(8 * 65250 / total)],
        [2, 8, 1 / 3, Decimal("3645.00"), 10.88, 7.0, "Продукты", float(29160 / total)],
        [3, 8, 1 / 3, Decimal("1175.00"), 1.0, None, "Одежда", float(9400 / total)],
    ]
    assert sum(row[2] for row in table.rows) == pytest.approx(1.0)
    assert sum(row[7] for row in table.rows) == pytest.approx(1.0)


def test_the_same_data_gives_the_same_clusters(base):
    first, second = cluster(AS_OF), cluster(AS_OF)
    assert first.table().rows == second.table().rows
    assert first.cluster.tolist() == second.cluster.tolist()
    assert first.silhouettes == second.silhouettes


def test_a_large_base_is_fitted_on_a_sample_and_every_member_assigned(base, monkeypatch):
    monkeypatch.setattr(clustering, "FIT_SAMPLE", 12)
    monkeypatch.setattr(clustering, "SILHOUETTE_SAMPLE", 15)
    result = cluster(AS_OF)
    assert len(result.fit_rows) == 12
    assert result.k == 3
    assert clusters_of(result) == {1: set(base["big"]), 2: set(base["frequent"]), 3: set(base["once"])}


def test_the_range_of_k_is_kept(base):
    result = cluster(AS_OF, k_min=4, k_max=5)
    assert list(result.silhouettes) == [4, 5]
    assert result.k in (4, 5)
    assert sorted(np.unique(result.cluster).tolist()) == list(range(1, result.k + 1))
    assert sum(c.members for c in result.clusters) == 24


def test_too_few_members_is_a_clear_error(catalogue):
    for i in range(9):
        buy(members.create_member(actor="t",
                                  last_name=f"Покупатель {i}"), AS_OF - timedelta(days=i), [("MILK", "1", 100 + i)])
    with pytest.raises(CannotCluster) as refused:
        cluster(AS_OF)
    assert isinstance(refused.value, ValueError)
    assert refused.value.code == "too_few_members_to_cluster"
    assert str(refused.value) == "Clusters need at least 10 members with purchases by 2026-03-31; there are 9."


def test_members_that_all_behave_alike_cannot_be_clustered(catalogue):
    for i in range(10):
        buy(members.create_member(actor="t", last_name=f"Близнец {i}"), AS_OF, [("MILK", "1", "100")])
    with pytest.raises(CannotCluster) as refused:
        cluster(AS_OF)
    assert refused.value.code == "members_too_alike_to_cluster"
    assert str(refused.value) == "The members' behaviour is too alike to form 2 or more clusters."


def test_a_wrong_range_of_k_is_refused(db):
    with pytest.raises(CannotCluster) as refused:
        cluster(AS_OF, k_min=1, k_max=3)
    assert refused.value.code == "cluster_range_invalid"
    with pytest.raises(CannotCluster):
        cluster(AS_OF, k_min=5, k_max=4)


# --- picture ----------------------------------------------------------------------------------------------------------


def test_the_picture_is_an_svg_with_one_circle_per_point(base):
    result = cluster(AS_OF)
    picture = result.picture()
    assert (len(picture.x), len(picture.y), picture.centres.shape) == (24, 24, (3, 2))
    assert sorted(picture.cluster.tolist()) == [1] * 8 + [2] * 8 + [3] * 8

    root = ET.fromstring(picture.svg())

    assert root.tag == f"{SVG}svg"
    assert len(root.findall(f".//{SVG}circle")) == 24
    texts = [element.text for element in root.iter(f"{SVG}text")]
    assert {"Component 1", "Component 2"} <= set(texts)
    assert [t for t in texts if t.startswith("Cluster ")] == [f"Cluster {n}: 33.3 % of members" for n in (1, 2, 3)]


def test_chart_text_is_escaped():
    svg = scatter_svg([(0.0, 1.0), (2.0, 3.0)], [0, 1], legend=["A & <B>", '"C"'], x_title="x < y", y_title="y",
                      title="<script>", centres=[(0.0, 1.0), (2.0, 3.0)])
    root = ET.fromstring(svg)
    assert [t.text for t in root.iter(f"{SVG}text")][-2:] == ["A & <B>", '"C"']
    assert root.find(f"{SVG}title").text == "<script>"
    assert root.find(f".//{SVG}script") is None
    assert len(root.findall(f".//{SVG}circle")) == 2


def test_the_picture_samples_at_most_the_points_asked_the_same_way_each_time(base):
    result = cluster(AS_OF)
    first, second = result.picture(points=10), result.picture(points=10)
    assert len(ET.fromstring(first.svg()).findall(f".//{SVG}circle")) == 10
    assert (first.x.tolist(), first.cluster.tolist()) == (second.x.tolist(), second.cluster.tolist())


def test_the_centres_are_the_mean_of_each_clusters_points(base):
    result = cluster(AS_OF)
    picture = result.picture()
    for number in (1, 2, 3):
        mine = picture.cluster == number
        assert picture.centres[number - 1] == pytest.approx([picture.x[mine].mean(), picture.y[mine].mean()])


# --- command ----------------------------------------------------------------------------------------------------------


def test_the_command_prints_the_cluster_table(base, capsys):
    call_command("analytics", "clusters", "--as-of", "2026-03-31", "--format", "csv")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ("cluster,members,member_share,average_ltv,average_deals,average_days_between,top_categories,"
                        "turnover_share")
    assert lines[1] == '1,8,0.333333,65250.00,3.0,87.0,"Электроника, Аксессуары",0.931212'
    assert lines[3] == "3,8,0.333333,1175.00,1.0,,Одежда,0.016769"

    call_command("analytics", "clusters", "--as-of", "2026-03-31", "--k-min", "2", "--k-max", "4", "--silhouettes",
                 "--format", "json")
    rows = json.loads(capsys.readouterr().out)
    assert [(row["k"], row["chosen"]) for row in rows] == [(2, False), (3, True), (4, False)]


def test_the_command_says_why_there_are_no_clusters(db):
    with pytest.raises(CommandError, match="No clusters: Clusters need at least 10 members with purchases"):
        call_command("analytics", "clusters", "--as-of", "2026-03-31")
