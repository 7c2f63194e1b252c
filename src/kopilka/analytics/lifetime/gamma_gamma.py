"""The Gamma-Gamma model of spend per purchase (Fader, Hardie & Lee 2005, "RFM and CLV: using iso-value
curves"; Fader & Hardie 2013, "The Gamma-Gamma model of monetary value"), fitted by maximum likelihood.

A customer's data: `frequency` x (repeat purchases) and `monetary_value` z̄ (the mean value of those x
purchases). The model: each purchase is worth Gamma(p, ν), the customer's ν ~ Gamma(q, γ), independent of how
often they buy; so z̄ given ν is Gamma(p x, ν x). Only customers with x > 0 carry information, and only those
are fitted. γ is in money; p and q have no unit.

Prediction: `expected_average_value` E[M | x, z̄] = p (γ + x z̄) / (p x + q − 1), a weighted mean of the
population mean p γ / (q − 1) and the customer's own z̄ (weight p x / (p x + q − 1)); for x = 0 it is the
population mean.
"""

from dataclasses import dataclass

import numpy as np
from django.utils.translation import gettext_lazy as _
from scipy.special import digamma, gammaln

from kopilka.analytics.lifetime import mle

MODEL = "Gamma-Gamma"
NAMES = ["p", "q", "v"]


@dataclass(frozen=True)
class GammaGamma:
    p: float
    q: float
    v: float  # γ in the publications; "v" in the `lifetimes` library and in reports
    log_likelihood: float  # the sum over the repeat buyers the model was fitted to
    customers: int  # repeat buyers fitted to

    def expected_average_value(self, frequency, monetary_value) -> np.ndarray:
        """E[M | x, z̄] per customer (floats in the currency of monetary_value)."""
        x, z = check(frequency, monetary_value)
        return self.p * (self.v + x * z) / (self.p * x + self.q - 1.0)

    @property
    def mean_value(self) -> float:
        """The population's expected spend per purchase, p γ / (q − 1)."""
        return self.p * self.v / (self.q - 1.0)


def check(frequency, monetary_value) -> tuple[np.ndarray, np.ndarray]:
    """The data as float arrays, or InvalidData: whole x ≥ 0 and z̄ ≥ 0."""
    x, z = mle.as_array(frequency, "frequency"), mle.as_array(monetary_value, "monetary_value")
    mle.same_length(x, z)
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise mle.InvalidData(_("frequency must be a whole number of repeat purchases, 0 or more."))
    if np.any(z < 0):
        raise mle.InvalidData(_("monetary_value must not be negative."))
    return x, z


def log_likelihood(p, q, v, frequency, monetary_value) -> np.ndarray:
    """Each repeat buyer's log-likelihood of z̄ (x > 0 and z̄ > 0 only)."""
    x, z = check(frequency, monetary_value)
    return _log_likelihood(p, q, v, x, z, with_gradient=False)[0]


def _log_likelihood(p, q, v, x, z, *, with_gradient: bool):
    """ℓ = ln Γ(p x + q) − ln Γ(p x) − ln Γ(q) + q ln γ + (p x − 1) ln z̄ + p x ln x − (p x + q) ln(γ + x z̄),
    and, if asked, the gradient per customer in (p, q, γ)."""
    px = p * x
    log_pooled = np.log(v + x * z)
    value = (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(v) + (px - 1.0) * np.log(z)
             + px * np.log(x) - (px + q) * log_pooled)
    if not with_gradient:
        return value, None
    shared = digamma(px + q)
    d_p = x * (shared - digamma(px) + np.log(z) + np.log(x) - log_pooled)
    d_q = shared - digamma(q) + np.log(v) - log_pooled
    d_v = q / v - (px + q) / (v + x * z)
    return value, np.stack([d_p, d_q, d_v])


def fit(frequency, monetary_value) -> GammaGamma:
    """The maximum-likelihood Gamma-Gamma for the customers with x > 0 and z̄ > 0 among these.

    NoRepeatBuyers when there are none, TooFewCustomers below mle.MIN_CUSTOMERS of them, FitFailed when the
    likelihood has no finite maximum or the fitted q ≤ 1 (a spend distribution with no finite mean)."""
    x, z = check(frequency, monetary_value)
    fitted = (x > 0) & (z > 0)
    x, z = x[fitted], z[fitted]
    if len(x) == 0:
        raise mle.NoRepeatBuyers(_("%(model)s needs customers with repeat purchases; there are none.")
                                 % {"model": MODEL})
    if len(x) < mle.MIN_CUSTOMERS:
        message = _("%(model)s needs at least %(minimum)d customers with repeat purchases, not %(count)d.")
        raise mle.TooFewCustomers(message % {"model": MODEL, "minimum": mle.MIN_CUSTOMERS, "count": len(x)})
    scale = float(z.mean())
    (gx, gz), weight = mle.group(x, z / scale)
    total = weight.sum()

    def mean_log_likelihood(theta):
        params = np.exp(theta)
        value, gradient = _log_likelihood(*params, gx, gz, with_gradient=True)
        return float(weight @ value) / total, (gradient @ weight) / total * params

    start = np.log([1.0, 2.0, 1.0])  # p = 1, q = 2: a population mean of γ, the scaled mean spend
    p, q, v = np.exp(mle.maximise(mean_log_likelihood, start, names=NAMES, model=MODEL))
    v *= scale
    if q <= 1.0:
        message = _("%(model)s: the fitted spend per purchase has no finite mean (q = %(q).3f ≤ 1); the "
                    "model does not suit these data.")
        raise mle.FitFailed(message % {"model": MODEL, "q": q})
    total_log_likelihood = float(_log_likelihood(p, q, v, x, z, with_gradient=False)[0].sum())
    return GammaGamma(p=float(p), q=float(q), v=float(v), log_likelihood=total_log_likelihood,
                      customers=len(x))
