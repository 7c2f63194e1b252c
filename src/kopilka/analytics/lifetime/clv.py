"""Customer lifetime value of each member: BG/NBD for how many purchases, Gamma-Gamma for what each is worth.

Definition: the expected value of a customer over the next N units of time is
    E[purchases in N] × E[value of one purchase],
the BG/NBD conditional expectation times the Gamma-Gamma conditional mean spend (the models take spend to
be independent of purchase frequency). Undiscounted unless a `discount_rate` d per unit of time is given;
then the purchases expected in unit i (E[Y(i)] − E[Y(i − 1)]) are discounted by (1 + d)^−i, as if paid at
the unit's end.

Members are those of the RFM summary (kopilka.analytics.measures.rfm): a purchase by the end of the as-of date. Both
models are fitted to all of them (the Gamma-Gamma only sees the repeat buyers) and predict for all of them;
a member with no repeat purchase gets the population's mean spend per purchase. Money in the result is
Decimal with kopecks.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np
from django.utils.translation import gettext_lazy as _

from kopilka.analytics.data.scope import roubles
from kopilka.analytics.lifetime import bgnbd, gamma_gamma, mle
from kopilka.analytics.lifetime.bgnbd import BgNbd
from kopilka.analytics.lifetime.gamma_gamma import GammaGamma
from kopilka.analytics.measures import rfm

ONE_YEAR = {"day": 365, "week": 52, "month": 12}  # the default horizon, in each unit of rfm.UNITS


def expected_value(model: BgNbd, spend: GammaGamma, horizon: int, frequency, recency, T,  # noqa: N803
                   monetary_value, discount_rate: float | None = None) -> np.ndarray:
    """Expected value per customer over the next `horizon` units (floats, in monetary_value's currency)."""
    check_horizon(horizon, discount_rate)
    purchases = discounted_purchases(model, horizon, frequency, recency, T, discount_rate)
    return purchases * spend.expected_average_value(frequency, monetary_value)


def discounted_purchases(model: BgNbd, horizon: int, frequency, recency, T,  # noqa: N803
                         discount_rate: float | None) -> np.ndarray:
    """Σ over units i = 1..horizon of (E[Y(i)] − E[Y(i − 1)]) / (1 + d)^i; E[Y(horizon)] itself when d is 0 or
    None. One vectorised evaluation per unit of the horizon."""
    if not discount_rate:
        return model.expected_purchases(horizon, frequency, recency, T)
    total, before = 0.0, 0.0
    for unit in range(1, horizon + 1):
        by_now = model.expected_purchases(unit, frequency, recency, T)
        total = total + (by_now - before) / (1.0 + discount_rate) ** unit
        before = by_now
    return total


def check_horizon(horizon: int, discount_rate: float | None) -> None:
    if not isinstance(horizon, int | np.integer) or horizon < 1:
        raise mle.InvalidData(_("The horizon must be a whole number of units of time, 1 or more."))
    if discount_rate is not None and not (0 <= discount_rate < 1):
        raise mle.InvalidData(_("The discount rate per unit of time must be at least 0 and below 1."))


@dataclass(frozen=True)
class MemberValue:
    member_id: int
    customer_id: str
    frequency: int
    recency: float
    T: float  # noqa: N815 - the literature's name
    monetary_value: Decimal
    expected_purchases: float  # over the horizon
    p_alive: float
    expected_average_value: Decimal  # per purchase, kopecks
    expected_value: Decimal  # over the horizon, kopecks (discounted if a rate was given)


@dataclass(frozen=True, eq=False)
class Clv:
    """Both fitted models and the predictions per member, kept as arrays in member id order."""

    as_of: date
    unit: str
    horizon: int
    discount_rate: float | None
    bgnbd: BgNbd
    gamma_gamma: GammaGamma
    member_id: np.ndarray
    customer_id: list[str]
    frequency: np.ndarray
    recency: np.ndarray
    T: np.ndarray  # noqa: N815
    monetary_value: list[Decimal]
    expected_purchases: np.ndarray
    p_alive: np.ndarray
    expected_average_kopecks: np.ndarray  # int64
    expected_value_kopecks: np.ndarray  # int64

    def __len__(self) -> int:
        return len(self.member_id)

    def members(self) -> Iterator[MemberValue]:
        """One MemberValue per member, made as it is read (a base of a million members stays in arrays)."""
        for index in range(len(self)):
            yield self.member(index)

    def member(self, index: int) -> MemberValue:
        """The member at `index` of the arrays."""
        return MemberValue(
            member_id=int(self.member_id[index]), customer_id=self.customer_id[index],
            frequency=int(self.frequency[index]), recency=float(self.recency[index]),
            T=float(self.T[index]),
            monetary_value=self.monetary_value[index],
            expected_purchases=float(self.expected_purchases[index]), p_alive=float(self.p_alive[index]),
            expected_average_value=roubles(self.expected_average_kopecks[index]),
            expected_value=roubles(self.expected_value_kopecks[index]),
        )


def _kopecks(values: np.ndarray) -> np.ndarray:
    return np.rint(values * 100.0).astype(np.int64)


def fit(as_of: date, unit: str = "week", horizon: int | None = None,
        discount_rate: float | None = None) -> Clv:
    """Fits BG/NBD and Gamma-Gamma to the RFM summary as of `as_of` (times in `unit`) and predicts each
    member's purchases, P(alive), spend per purchase and value over `horizon` units (default: a year).

    Raises a mle.ModelFitError (a ValueError) with a readable message when the data cannot carry the
    models."""
    if unit not in ONE_YEAR:
        message = _("The unit of time must be one of: %(units)s.")
        raise mle.InvalidData(message % {"units": ", ".join(ONE_YEAR)})
    horizon = ONE_YEAR[unit] if horizon is None else horizon
    check_horizon(horizon, discount_rate)
    member_id, customer_id, frequency, recency, age, money = [], [], [], [], [], []
    for row in rfm.summary(as_of, unit):
        member_id.append(row.member_id)
        customer_id.append(row.customer_id)
        frequency.append(row.frequency)
        recency.append(row.recency)
        age.append(row.T)
        money.append(row.monetary_value)
    x, t_x, T = np.array(frequency, dtype=float), np.array(recency), np.array(age)  # noqa: N806
    z = np.array(money, dtype=float)
    model = bgnbd.fit(x, t_x, T)
    spend = gamma_gamma.fit(x, z)
    per_purchase = spend.expected_average_value(x, z)
    purchases = model.expected_purchases(horizon, x, t_x, T)
    if discount_rate:
        value = discounted_purchases(model, horizon, x, t_x, T, discount_rate) * per_purchase
    else:
        value = purchases * per_purchase
    return Clv(
        as_of=as_of, unit=unit, horizon=horizon, discount_rate=discount_rate, bgnbd=model, gamma_gamma=spend,
        member_id=np.array(member_id, dtype=np.int64), customer_id=customer_id, frequency=x.astype(np.int64),
        recency=t_x, T=T, monetary_value=money,
        expected_purchases=purchases, p_alive=model.p_alive(x, t_x, T),
        expected_average_kopecks=_kopecks(per_purchase), expected_value_kopecks=_kopecks(value),
    )
