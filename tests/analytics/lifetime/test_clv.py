"""Lifetime value: BG/NBD and Gamma-Gamma fitted by maximum likelihood reproduce the published CDNOW
estimates, their predictions agree with values computed independently (50-digit mpmath, FHL's own example),
and the member-level fit and the `analytics clv` command carry them to each member of the programme."""

import csv
import io
import json
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from scipy.optimize import approx_fprime

from kopilka.analytics.lifetime import bgnbd, clv, gamma_gamma, mle
from kopilka.analytics.lifetime.bgnbd import BgNbd
from kopilka.analytics.lifetime.gamma_gamma import GammaGamma
from kopilka.customers import services as members
from kopilka.customers.models import ExternalId
from kopilka.orders.models import Order

CDNOW = Path(__file__).parent / "data" / "cdnow_customers_summary_with_transactions.csv"
PUBLISHED = BgNbd(r=0.243, alpha=4.414, a=0.793, b=2.426, log_likelihood=-9582.4, customers=2357)


@pytest.fixture(scope="module")
def cdnow():
    data = np.genfromtxt(CDNOW, delimiter=",", names=True)
    return data["x"], data["t_x"], data["T"], data["zbar"]


@pytest.fixture(scope="module")
def cdnow_bgnbd(cdnow):
    x, t_x, age, _ = cdnow
    return bgnbd.fit(x, t_x, age)


# --- BG/NBD on CDNOW (Fader, Hardie & Lee 2005) -------------------------------------------------------------

def test_bgnbd_reproduces_the_published_cdnow_estimates(cdnow_bgnbd):
    model = cdnow_bgnbd
    assert model.customers == 2357
    assert (model.r, model.alpha, model.a, model.b) == pytest.approx((0.243, 4.414, 0.793, 2.426), abs=1e-3)
    assert model.log_likelihood == pytest.approx(-9582.4, abs=0.05)


def test_fhl_example_customer_expects_1_226_purchases_in_the_next_39_weeks(cdnow_bgnbd):
    # FHL 2005, section 4: x = 2, t_x = 30.43, T = 38.86 (CDNOW customer 1) → 1.226 purchases in weeks 40-78.
    assert cdnow_bgnbd.expected_purchases(39, [2], [30.43], [38.86])[0] == pytest.approx(1.226, abs=5e-4)


@pytest.mark.parametrize(("params", "customer", "t", "mpmath_value"), [
    # E[Y(t) | x, t_x, T] by FHL eq. 10 in 50-digit arithmetic (mpmath.hyp2f1), outside this code base
    ((0.243, 4.414, 0.793, 2.426), (2, 30.43, 38.86), 39, 1.2260281747671444),
    ((0.243, 4.414, 0.793, 2.426), (0, 0.0, 38.86), 39, 0.19509805201126264),
    ((0.243, 4.414, 0.793, 2.426), (0, 0.0, 0.0), 39, 1.1967231933208168),  # unconditional E[X(39)], eq. 9
    ((2.5, 30.0, 3.0, 8.0), (60, 725.0, 730.0), 365, 16.716970381671581),
    ((2.5, 30.0, 3.0, 8.0), (500, 700.0, 730.0), 365, 3.7766895112097168e-5),
    ((0.3, 10.0, 0.3, 0.5), (0, 0.0, 5.0), 100, 1.1509561763599302),  # a + b < 1: 2F1 with c < 0
    ((0.3, 10.0, 0.3, 0.5), (100, 360.0, 365.0), 5000, 770.83624820046317),  # c - a - b whole: hard for scipy
])
def test_expected_purchases_match_high_precision_values(params, customer, t, mpmath_value):
    model = BgNbd(*params, log_likelihood=0.0, customers=0)
    x, t_x, age = customer
    assert model.expected_purchases(t, [x], [t_x], [age])[0] == pytest.approx(mpmath_value, rel=1e-9)


def test_p_alive_is_one_without_repeat_purchases_and_grows_with_recency(cdnow_bgnbd):
    # 0.7265... by mpmath in 50 digits
    assert PUBLISHED.p_alive([2], [30.43], [38.86])[0] == pytest.approx(0.72657857008067291, rel=1e-12)
    assert list(cdnow_bgnbd.p_alive([0, 0, 0], [0.0, 0.0, 0.0], [1.0, 20.0, 38.86])) == [1.0, 1.0, 1.0]
    recency = np.linspace(0.5, 38.86, 50)
    alive = cdnow_bgnbd.p_alive(np.full(50, 4), recency, np.full(50, 38.86))
    assert np.all(np.diff(alive) > 0) and 0 < alive[0] < alive[-1] < 1
    # the longer the silence since the last purchase, the less likely the customer is still active
    assert np.all(np.diff(cdnow_bgnbd.p_alive(np.full(5, 4), np.full(5, 10.0), [10.0, 20, 30, 40, 50])) < 0)


def test_the_gradient_is_that_of_the_likelihood(cdnow):
    x, t_x, age, z = cdnow
    point = np.array([0.5, 3.0, 1.2, 2.0])
    value, gradient = bgnbd._log_likelihood(*point, x, t_x, age, with_gradient=True)
    numeric = approx_fprime(point, lambda p: bgnbd.log_likelihood(*p, x, t_x, age).sum(), 1e-7)
    assert value.sum() == pytest.approx(bgnbd.log_likelihood(*point, x, t_x, age).sum())
    assert gradient.sum(axis=1) == pytest.approx(numeric, rel=1e-5, abs=1e-3)
    buyers = x > 0
    point = np.array([5.0, 4.0, 12.0])
    _, gradient = gamma_gamma._log_likelihood(*point, x[buyers], z[buyers], with_gradient=True)
    numeric = approx_fprime(point, lambda p: gamma_gamma.log_likelihood(*p, x[buyers], z[buyers]).sum(), 1e-7)
    assert gradient.sum(axis=1) == pytest.approx(numeric, rel=1e-5, abs=1e-3)


def test_the_fit_does_not_depend_on_the_unit_of_time_or_on_how_customers_are_grouped(cdnow, cdnow_bgnbd):
    x, t_x, age, _ = cdnow
    in_days = bgnbd.fit(x, t_x * 7, age * 7)
    assert (in_days.r, in_days.alpha / 7, in_days.a, in_days.b) == pytest.approx(
        (cdnow_bgnbd.r, cdnow_bgnbd.alpha, cdnow_bgnbd.a, cdnow_bgnbd.b), rel=1e-5)
    twice = bgnbd.fit(np.tile(x, 2), np.tile(t_x, 2), np.tile(age, 2))
    assert (twice.r, twice.alpha, twice.a, twice.b) == pytest.approx(
        (cdnow_bgnbd.r, cdnow_bgnbd.alpha, cdnow_bgnbd.a, cdnow_bgnbd.b), rel=1e-5)
    assert twice.log_likelihood == pytest.approx(2 * cdnow_bgnbd.log_likelihood)


# --- Gamma-Gamma on CDNOW (Fader, Hardie & Lee 2005; Fader & Hardie 2013) -----------------------------------

def test_gamma_gamma_reproduces_the_published_cdnow_estimates(cdnow):
    x, _, _, zbar = cdnow
    spend = gamma_gamma.fit(x, zbar)  # the 946 repeat buyers and the mean value of their repeat purchases
    assert spend.customers == 946
    # p = 6.25, q = 3.74, γ = 15.44; the file's zbar is rounded to cents, which moves γ in the third decimal
    assert (spend.p, spend.q, spend.v) == pytest.approx((6.25, 3.74, 15.44), abs=1e-2)
    assert spend.mean_value == pytest.approx(spend.p * spend.v / (spend.q - 1))


def test_expected_spend_shrinks_the_customers_mean_towards_the_population_mean():
    spend = GammaGamma(p=6.25, q=3.74, v=15.44, log_likelihood=0.0, customers=0)
    values = spend.expected_average_value([2, 0, 50], [22.35, 0.0, 22.35])
    # p (γ + x z̄) / (p x + q − 1): 6.25 · (15.44 + 44.70) / (12.5 + 2.74)
    assert values[0] == pytest.approx(6.25 * 60.14 / 15.24, rel=1e-12)
    assert values[1] == pytest.approx(6.25 * 15.44 / 2.74, rel=1e-12)  # no repeat purchase: population mean
    assert abs(values[2] - 22.35) < abs(values[0] - 22.35)  # more purchases, more weight on the own mean


# --- value over a horizon -----------------------------------------------------------------------------------

def test_expected_value_is_purchases_times_spend_and_discounting_lowers_it(cdnow, cdnow_bgnbd):
    x, t_x, age, zbar = cdnow
    spend = gamma_gamma.fit(x, zbar)
    plain = clv.expected_value(cdnow_bgnbd, spend, 52, x, t_x, age, zbar)
    purchases = cdnow_bgnbd.expected_purchases(52, x, t_x, age)
    assert plain == pytest.approx(purchases * spend.expected_average_value(x, zbar), rel=1e-12)
    undiscounted = clv.expected_value(cdnow_bgnbd, spend, 52, x, t_x, age, zbar, discount_rate=0.0)
    assert undiscounted == pytest.approx(plain)
    discounted = clv.expected_value(cdnow_bgnbd, spend, 52, x, t_x, age, zbar, discount_rate=0.01)
    by_week = [np.zeros_like(x)] + [cdnow_bgnbd.expected_purchases(w, x, t_x, age) for w in range(1, 53)]
    by_hand = sum((by_week[w] - by_week[w - 1]) / 1.01 ** w for w in range(1, 53))
    assert discounted == pytest.approx(by_hand * spend.expected_average_value(x, zbar), rel=1e-12)
    assert np.all(discounted < plain) and np.all(discounted > plain / 1.01 ** 52)


# --- refusals -----------------------------------------------------------------------------------------------

def test_too_few_customers_no_repeat_buyers_and_bad_data_are_refused_with_a_reason():
    with pytest.raises(mle.TooFewCustomers, match="at least 10 customers, not 9"):
        bgnbd.fit([1] * 9, [2.0] * 9, [5.0] * 9)
    with pytest.raises(mle.NoRepeatBuyers, match="BG/NBD needs customers with repeat purchases"):
        bgnbd.fit([0] * 20, [0.0] * 20, [5.0] * 20)
    with pytest.raises(mle.NoRepeatBuyers, match="Gamma-Gamma needs customers with repeat purchases"):
        gamma_gamma.fit([0] * 20, [0.0] * 20)
    with pytest.raises(mle.TooFewCustomers, match="at least 10 customers with repeat purchases, not 3"):
        gamma_gamma.fit([0] * 20 + [1, 2, 3], [0.0] * 20 + [10.0, 20.0, 30.0])
    with pytest.raises(mle.InvalidData, match="recency must lie between 0 and T"):
        bgnbd.fit([1] * 20, [6.0] * 20, [5.0] * 20)
    with pytest.raises(mle.InvalidData, match="whole number"):
        bgnbd.fit([1.5] * 20, [2.0] * 20, [5.0] * 20)
    with pytest.raises(mle.InvalidData, match="missing or infinite"):
        gamma_gamma.fit([1] * 20, [np.nan] * 20)
    with pytest.raises(ValueError, match="horizon"):  # every refusal is a ValueError
        clv.expected_value(PUBLISHED, GammaGamma(6.25, 3.74, 15.44, 0.0, 0), 0, [1], [1.0], [2.0], [10.0])


def test_data_without_a_finite_maximum_fail_with_the_parameters_named():
    # nobody ever drops out: every customer bought right up to the end, so the drop-out probability goes to 0
    frequency = np.arange(1, 21)
    # a goes to 0; where b stops on that flat ridge depends on the machine's arithmetic, and never buys a penalised fit
    with pytest.raises(mle.FitFailed, match=r"BG/NBD: the likelihood has no maximum at finite values of a\b") as failed:
        bgnbd.fit(frequency, np.full(20, 30.0), np.full(20, 30.0))
    assert failed.value.details["towards"]["a"] == "zero"
    # every repeat buyer spends exactly the same: no spread between customers to estimate
    with pytest.raises(mle.FitFailed, match=r"Gamma-Gamma: .* no maximum at finite values of p, q"):
        gamma_gamma.fit(np.arange(1, 21), np.full(20, 250.0))


# --- members of the programme -------------------------------------------------------------------------------

AS_OF = date(2026, 3, 31)
START = date(2025, 1, 6)


def history(k: int) -> tuple[list[int], list[Decimal]]:
    """Member k's purchase days (from START) and amounts: every third member stops after 1-5 purchases, the
    others keep buying every 6-35 days until the as-of date."""
    first, gap = (k * 29) % 250, 6 + (k * 11) % 30
    count = 1 + (k // 3) % 5 if k % 3 == 0 else 1000
    days = [day for day in (first + j * gap for j in range(count)) if day <= (AS_OF - START).days]
    return days, [Decimal(300 + (k * 53) % 900 + (j * 71) % 300) for j in range(len(days))]


def expected_summary(k: int) -> tuple[int, float, float, Decimal]:
    """Member k's (frequency, recency, T, monetary value) in weeks, worked out from history(k) by hand."""
    days, amounts = history(k)
    repeat = amounts[1:]
    mean = (sum(repeat) / len(repeat)).quantize(Decimal("0.01")) if repeat else Decimal("0.00")
    return len(days) - 1, (days[-1] - days[0]) / 7, ((AS_OF - START).days - days[0]) / 7, mean


@pytest.fixture
def programme(db):
    """30 members with the histories above (noon in Moscow), a customer id from an import for the first, plus
    purchases that must not count: a cancelled order, one after the as-of date, a non-member's."""
    people = []
    orders = []
    for k in range(30):
        member = members.create_member(actor="t", last_name=f"Покупатель {k}")
        people.append(member)
        for j, (day, amount) in enumerate(zip(*history(k), strict=True)):
            at = datetime.combine(START + timedelta(days=day), time(9), tzinfo=UTC)
            orders.append(Order(member=member, source="pos", external_id=f"{k}-{j}", purchased_at=at,
                                total=amount, status=Order.Status.COMPLETED))
    ExternalId.objects.create(member=people[0], system="customer", value="C-0")
    noon, later = datetime(2026, 3, 1, 9, tzinfo=UTC), datetime(2026, 4, 1, 9, tzinfo=UTC)
    much = Decimal("9999")
    orders += [
        Order(member=people[15], source="pos", external_id="cancelled", purchased_at=noon, total=much,
              status=Order.Status.CANCELLED),
        Order(member=people[15], source="pos", external_id="later", purchased_at=later, total=much,
              status=Order.Status.COMPLETED),
        Order(member=None, source="pos", external_id="anon", purchased_at=noon, total=much,
              status=Order.Status.COMPLETED),
    ]
    Order.objects.bulk_create(orders)
    return people


@pytest.mark.django_db
def test_members_get_the_fit_of_their_own_summaries(programme):
    result = clv.fit(AS_OF, "week", horizon=26)
    by_hand = [expected_summary(k) for k in range(30)]
    x, t_x, age, money = (np.array(column) for column in zip(*by_hand, strict=True))
    model = bgnbd.fit(x, t_x, age)
    spend = gamma_gamma.fit(x, money.astype(float))
    assert (result.unit, result.horizon, len(result)) == ("week", 26, 30)
    assert (result.bgnbd.r, result.bgnbd.alpha, result.bgnbd.a, result.bgnbd.b) == pytest.approx(
        (model.r, model.alpha, model.a, model.b), rel=1e-9)
    assert (result.gamma_gamma.p, result.gamma_gamma.q, result.gamma_gamma.v) == pytest.approx(
        (spend.p, spend.q, spend.v), rel=1e-9)
    assert (result.bgnbd.customers, result.gamma_gamma.customers) == (30, 28)
    rows = list(result.members())
    assert [row.member_id for row in rows] == [member.pk for member in programme]
    assert rows[0].customer_id == "C-0" and rows[1].customer_id == str(programme[1].pk)
    for k, row in enumerate(rows):
        frequency, recency, age_k, mean = expected_summary(k)
        assert (row.frequency, row.recency, row.T, row.monetary_value) == (frequency, recency, age_k, mean)
        purchases = model.expected_purchases(26, [frequency], [recency], [age_k])[0]
        per_purchase = spend.expected_average_value([frequency], [float(mean)])[0]
        assert row.expected_purchases == pytest.approx(purchases, rel=1e-9)
        assert row.p_alive == pytest.approx(model.p_alive([frequency], [recency], [age_k])[0], rel=1e-9)
        assert row.expected_average_value == Decimal(round(per_purchase * 100)).scaleb(-2)
        assert row.expected_value == Decimal(round(purchases * per_purchase * 100)).scaleb(-2)
        assert row.expected_value.as_tuple().exponent == -2
    once = rows[15]  # member 15 bought once (its cancelled and later orders do not count)
    assert (once.frequency, once.p_alive) == (0, 1.0)
    assert once.expected_average_value == Decimal(round(spend.mean_value * 100)).scaleb(-2)


@pytest.mark.django_db
def test_a_year_is_the_default_horizon_and_a_discount_rate_lowers_the_value(programme):
    plain = clv.fit(AS_OF, "month")
    assert plain.horizon == 12
    discounted = clv.fit(AS_OF, "month", discount_rate=0.02)
    assert np.array_equal(discounted.expected_purchases, plain.expected_purchases)
    assert np.all(discounted.expected_value_kopecks <= plain.expected_value_kopecks)
    assert discounted.expected_value_kopecks.sum() < plain.expected_value_kopecks.sum()


@pytest.mark.django_db
def test_the_command_prints_the_parameters_and_members_as_json(programme, capsys):
    call_command("analytics", "clv", "--as-of", "2026-03-31", "--unit", "week", "--horizon", "26",
                 "--format", "json")
    out = json.loads(capsys.readouterr().out)
    result = clv.fit(AS_OF, "week", horizon=26)
    model, spend = result.bgnbd, result.gamma_gamma
    head = [out[key] for key in ("as_of", "unit", "horizon", "discount_rate")]
    assert head == ["2026-03-31", "week", 26, None]
    assert out["bgnbd"] == {"r": model.r, "alpha": model.alpha, "a": model.a, "b": model.b,
                            "log_likelihood": model.log_likelihood, "customers": 30, "penalty": 0.0}
    assert out["gamma_gamma"] == {"p": spend.p, "q": spend.q, "v": spend.v,
                                  "log_likelihood": spend.log_likelihood, "customers": 28}
    first = next(result.members())
    assert out["members"][0] == {
        "customer_id": "C-0", "frequency": first.frequency, "recency": first.recency, "T": first.T,
        "monetary_value": str(first.monetary_value), "expected_purchases": first.expected_purchases,
        "p_alive": first.p_alive, "expected_average_value": str(first.expected_average_value),
        "expected_value": str(first.expected_value),
    }
    assert len(out["members"]) == 30


@pytest.mark.django_db
def test_the_command_prints_the_members_as_csv(programme, capsys):
    call_command("analytics", "clv", "--as-of", "2026-03-31", "--format", "csv")  # weeks, a year: defaults
    lines = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert lines[0] == ["customer_id", "frequency", "recency", "T", "monetary_value", "expected_purchases",
                        "p_alive", "expected_average_value", "expected_value"]
    first = next(clv.fit(AS_OF, "week", horizon=52).members())
    assert lines[1] == ["C-0", str(first.frequency), str(round(first.recency, 6)), str(round(first.T, 6)),
                        str(first.monetary_value), str(round(first.expected_purchases, 6)),
                        str(round(first.p_alive, 6)), str(first.expected_average_value),
                        str(first.expected_value)]
    assert len(lines) == 31


@pytest.mark.django_db
def test_the_command_refuses_too_few_members_with_the_reason(capsys):
    member = members.create_member(actor="t", last_name="Одна")
    Order.objects.create(member=member, source="pos", external_id="1", total=Decimal("100"),
                         purchased_at=datetime(2026, 1, 5, 9, tzinfo=UTC), status=Order.Status.COMPLETED)
    with pytest.raises(mle.TooFewCustomers, match="BG/NBD needs at least 10 customers, not 1"):
        call_command("analytics", "clv", "--as-of", "2026-03-31", "--format", "json")


def test_when_every_customer_drops_out_alike_a_small_penalty_keeps_a_and_b_finite():
    """Simulated customers with one drop-out chance (p = 0.1) for all: the plain likelihood is highest as a and b
    run off together; the fit then penalises their logarithms and says so, and its a / (a + b) stays near p."""
    rng = np.random.default_rng(11)
    n, horizon = 3000, 52.0
    rates = rng.gamma(1.5, 1 / 6.0, n)
    frequency, recency, age = np.zeros(n), np.zeros(n), np.full(n, horizon)
    for i in range(n):
        moment, last, repeats = 0.0, 0.0, 0
        while rng.random() >= 0.1:  # still active after this purchase
            moment += rng.exponential(1 / rates[i])
            if moment > horizon:
                break
            last, repeats = moment, repeats + 1
        frequency[i], recency[i] = repeats, last
    with pytest.raises(mle.FitFailed):
        mle.maximise(lambda theta: (-(theta[2] - 40) ** 2, np.array([0, 0, -2 * (theta[2] - 40), 0])), np.zeros(4),
                     names=["r", "alpha", "a", "b"], model="check")  # a runaway is refused by the plain optimiser
    fitted = bgnbd.fit(frequency, recency, age)
    assert fitted.penalty == bgnbd.PENALTY
    assert 0.06 < fitted.a / (fitted.a + fitted.b) < 0.14
    assert np.all(np.isfinite(fitted.expected_purchases(10, frequency, recency, age)))
