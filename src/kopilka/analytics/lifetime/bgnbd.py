"""The BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005, "Counting your customers the easy way"),
fitted by maximum likelihood.

A customer's data: `frequency` x (repeat purchases), `recency` t_x (first to last purchase) and age `T`
(first purchase to the end of observation), in one unit of time (see kopilka.analytics.measures.rfm). The model:
while alive, a customer buys as a Poisson process of rate λ ~ Gamma(r, α); after each purchase they drop out
with probability p ~ Beta(a, b). α is in the unit of time of the data; r, a, b have no unit.

Predictions per customer, given their data:
- `expected_purchases(t)`: E[Y(t) | x, t_x, T], the expected number of purchases in the next t units
  (FHL eq. 10);
- `p_alive`: P(still alive at T | x, t_x, T); 1 for a customer with no repeat purchase (the model lets a
  customer drop out only just after a purchase).
"""

from dataclasses import dataclass

import numpy as np
from django.utils.translation import gettext_lazy as _
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from kopilka.analytics.lifetime import mle

MODEL = "BG/NBD"
NAMES = ["r", "alpha", "a", "b"]


@dataclass(frozen=True)
class BgNbd:
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float  # the sum over the customers the model was fitted to
    customers: int
    # The L2 penalty on log a and log b the fit needed: 0 when the likelihood has its maximum at finite values;
    # PENALTY when the customers' drop-out looks alike (a and b run off together, their ratio fixed), where the
    # penalty keeps them finite and the predictions near the model's limit.
    penalty: float = 0.0

    def expected_purchases(self, t, frequency, recency, T) -> np.ndarray:  # noqa: N803
        """E[Y(t) | x, t_x, T] per customer for t > 0 units ahead (t: a number or an array per customer).

        Uses Euler's transformation 2F1(A, B; C; z) = (1 - z)^(C - A - B) 2F1(C - A, C - B; C; z) on FHL's
        eq. 10, which leaves the large-x parameter only in C, where the series converges fastest."""
        x, t_x, age = check(frequency, recency, T)
        t = np.asarray(t, dtype=float)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        z = t / (alpha + age + t)
        tail = 1.0 - (1.0 - z) ** (a - 1.0) * _hyp2f1(a + b - 1.0 - r, a - 1.0, a + b + x - 1.0, z)
        return (a + b + x - 1.0) / (a - 1.0) * tail * _p_alive(r, alpha, a, b, x, t_x, age)

    def p_alive(self, frequency, recency, T) -> np.ndarray:  # noqa: N803
        x, t_x, age = check(frequency, recency, T)
        return _p_alive(self.r, self.alpha, self.a, self.b, x, t_x, age)


def _hyp2f1(A, B, C, z) -> np.ndarray:  # noqa: N803
    """scipy's 2F1, except where it gives no finite value: where C − A − B is exactly a whole number and z is
    near 1 its transformation to 1 − z breaks down, so B is moved by 1e-12 (relative), which the continuity of
    2F1 in B makes a change of the same order in the value."""
    value = np.asarray(hyp2f1(A, B, C, z), dtype=float)
    broken = ~np.isfinite(value)
    if np.any(broken):
        A, B, C, z = np.broadcast_arrays(A, B, C, z)
        value[broken] = hyp2f1(A[broken], B[broken] * (1.0 + 1e-12), C[broken], z[broken])
    return value


def _p_alive(r, alpha, a, b, x, t_x, age) -> np.ndarray:
    """1 / (1 + δ(x > 0) · a / (b + x - 1) · ((α + T) / (α + t_x))^(r + x)), the odds taken in logarithms."""
    repeat = x > 0
    log_odds = (np.log(a) - np.log(np.where(repeat, b + x - 1.0, 1.0))
                + (r + x) * (np.log(alpha + age) - np.log(alpha + t_x)))
    return np.where(repeat, expit(-log_odds), 1.0)


def check(frequency, recency, T) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # noqa: N803
    """The data as float arrays, or InvalidData: whole x ≥ 0 and 0 ≤ t_x ≤ T."""
    x, t_x, age = mle.as_array(frequency, "frequency"), mle.as_array(recency, "recency"), mle.as_array(T, "T")
    mle.same_length(x, t_x, age)
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise mle.InvalidData(_("frequency must be a whole number of repeat purchases, 0 or more."))
    if np.any(t_x < 0) or np.any(t_x > age):
        raise mle.InvalidData(_("recency must lie between 0 and T."))
    return x, t_x, age


def log_likelihood(r, alpha, a, b, frequency, recency, T) -> np.ndarray:  # noqa: N803
    """Each customer's log-likelihood (FHL eq. 6)."""
    x, t_x, age = check(frequency, recency, T)
    return _log_likelihood(r, alpha, a, b, x, t_x, age, with_gradient=False)[0]


def _log_likelihood(r, alpha, a, b, x, t_x, age, *, with_gradient: bool):
    """ℓ = A1 + log(e^A2 + δ(x > 0) e^A3) with
    A1 = ln Γ(r + x) − ln Γ(r) + r ln α,
    A2 = ln B(a, b + x) − ln B(a, b) − (r + x) ln(α + T),
    A3 = ln B(a + 1, b + x − 1) − ln B(a, b) − (r + x) ln(α + t_x);
    and, if asked, the gradient per customer in (r, α, a, b)."""
    repeat = x > 0
    beta_ab = betaln(a, b)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = betaln(a, b + x) - beta_ab - (r + x) * np.log(alpha + age)
    shifted = np.where(repeat, b + x - 1.0, 1.0)
    a3 = np.where(repeat, betaln(a + 1.0, shifted) - beta_ab - (r + x) * np.log(alpha + t_x), -np.inf)
    mix = np.logaddexp(a2, a3)
    value = a1 + mix
    if not with_gradient:
        return value, None
    w3 = np.exp(a3 - mix)  # the weight of the "dropped out after the last purchase" branch; 0 when x = 0
    w2 = 1.0 - w3
    d_r = digamma(r + x) - digamma(r) + np.log(alpha) - w2 * np.log(alpha + age) - w3 * np.log(alpha + t_x)
    d_alpha = r / alpha - (r + x) * (w2 / (alpha + age) + w3 / (alpha + t_x))
    d_a = digamma(a + b) - digamma(a + b + x) + w3 / a
    d_b = digamma(a + b) - digamma(a + b + x) - digamma(b) + digamma(b + x) - w3 / shifted
    return value, np.stack([d_r, d_alpha, d_a, d_b])


def fit(frequency, recency, T) -> BgNbd:  # noqa: N803
    """The maximum-likelihood BG/NBD for these customers.

    TooFewCustomers below mle.MIN_CUSTOMERS, NoRepeatBuyers when nobody bought twice (nothing tells the
    purchase rate from the drop-out), FitFailed when the likelihood has no finite maximum — except when a and b
    both run off towards infinity (every customer's drop-out chance alike): then the fit is repeated with a small
    penalty on their logarithms, recorded in `penalty`."""
    x, t_x, age = check(frequency, recency, T)
    if len(x) < mle.MIN_CUSTOMERS:
        raise mle.TooFewCustomers(_("%(model)s needs at least %(minimum)d customers, not %(count)d.")
                                  % {"model": MODEL, "minimum": mle.MIN_CUSTOMERS, "count": len(x)})
    if not np.any(x > 0):
        raise mle.NoRepeatBuyers(_("%(model)s needs customers with repeat purchases; there are none.")
                                 % {"model": MODEL})
    scale = float(age.mean())
    (gx, gt_x, gage), weight = mle.group(x, t_x / scale, age / scale)
    total = weight.sum()

    def mean_log_likelihood(theta):
        params = np.exp(theta)
        value, gradient = _log_likelihood(*params, gx, gt_x, gage, with_gradient=True)
        return float(weight @ value) / total, (gradient @ weight) / total * params

    penalty = 0.0
    try:
        theta = mle.maximise(mean_log_likelihood, np.zeros(4), names=NAMES, model=MODEL)
    except mle.FitFailed as failed:
        # a and b growing together keep a / (a + b), the drop-out chance, finite; a going to 0 means that nobody
        # drops out, which the model cannot estimate (where b stops on that flat ridge depends on the arithmetic).
        if failed.details.get("towards") != {"a": "infinity", "b": "infinity"}:
            raise
        penalty = PENALTY
        theta = mle.maximise(_penalised(mean_log_likelihood, penalty), np.zeros(4), names=NAMES, model=MODEL)
    r, alpha, a, b = np.exp(theta)
    alpha *= scale
    total_log_likelihood = float(_log_likelihood(r, alpha, a, b, x, t_x, age, with_gradient=False)[0].sum())
    return BgNbd(r=float(r), alpha=float(alpha), a=float(a), b=float(b), log_likelihood=total_log_likelihood,
                 customers=len(x), penalty=penalty)


PENALTY = 1e-3


def _penalised(objective, penalty: float):
    """The objective less penalty · ((log a)² + (log b)²), with its gradient."""

    def penalised(theta):
        value, gradient = objective(theta)
        shrink = np.array([0.0, 0.0, 1.0, 1.0])
        return value - penalty * float(shrink @ theta**2), gradient - 2 * penalty * shrink * theta

    return penalised
