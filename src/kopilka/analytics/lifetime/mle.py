"""Maximum-likelihood fitting shared by the BTYD models (BG/NBD, Gamma-Gamma): the errors a fit can meet,
input checks, grouping of identical customers and the optimiser.

- A model's parameters are all positive; the optimiser works on their logarithms, so any step is valid.
- The objective is the mean log-likelihood per customer, identical customers counted once with a weight: a
  base of a million members has far fewer distinct (frequency, recency, T) rows, and one evaluation is one
  pass of array arithmetic over those rows.
- Data are scaled to order 1 before fitting (times by their mean age, money by its mean) and the scale
  parameter is scaled back, so the limits below mean the same whatever the unit or the currency.
"""

from collections.abc import Callable

import numpy as np
from django.utils.translation import gettext_lazy as _
from scipy.optimize import minimize

from kopilka.core.errors import ApplicationError

MIN_CUSTOMERS = 10  # fewer than this and four (or three) parameters are not identified by the data
LOG_BOUND = 15.0  # the search box for the log parameters on scaled data
RUNAWAY = 10.0  # |log parameter| beyond this (a factor of 22 000 either way): the estimate runs off to 0 or ∞
GRADIENT_TOLERANCE = 1e-6  # on the mean log-likelihood per customer, in log parameters


class ModelFitError(ApplicationError, ValueError):
    """A model could not be fitted to these data; the message says why."""

    code = "model_fit_error"
    http_status = 422
    default_message = _("The model could not be fitted to these data.")


class InvalidData(ModelFitError):
    code = "invalid_data"


class TooFewCustomers(ModelFitError):
    code = "too_few_customers"


class NoRepeatBuyers(ModelFitError):
    code = "no_repeat_buyers"


class FitFailed(ModelFitError):
    code = "fit_failed"


def as_array(values, name: str) -> np.ndarray:
    """A one-dimensional float array of finite values, or InvalidData."""
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise InvalidData(_("%(name)s must be a one-dimensional sequence.") % {"name": name})
    if not np.all(np.isfinite(array)):
        raise InvalidData(_("%(name)s has missing or infinite values.") % {"name": name})
    return array


def same_length(*arrays: np.ndarray) -> None:
    if len({len(array) for array in arrays}) > 1:
        raise InvalidData(_("The data columns differ in length."))


def group(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """The distinct rows of the columns (one array per column) and how many customers each stands for."""
    rows, counts = np.unique(np.column_stack(columns), axis=0, return_counts=True)
    return [rows[:, index] for index in range(rows.shape[1])], counts.astype(float)


def maximise(
    mean_log_likelihood: Callable[[np.ndarray], tuple[float, np.ndarray]],
    start: np.ndarray,
    *,
    names: list[str],
    model: str,
) -> np.ndarray:
    """The log parameters maximising the objective, which returns (value, gradient in log parameters).

    FitFailed when the optimiser stops without a maximum: a parameter running off towards 0 or infinity (no
    finite estimate exists), a non-finite value, or a gradient that is not ~0 where it stopped. The
    optimiser's own success flag is not used: L-BFGS-B often reports an abnormal line search at an optimum."""

    def negative(theta: np.ndarray) -> tuple[float, np.ndarray]:
        with np.errstate(all="ignore"):
            value, gradient = mean_log_likelihood(theta)
        if not np.isfinite(value) or not np.all(np.isfinite(gradient)):
            return np.inf, np.zeros_like(theta)
        return -value, -gradient

    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(start)
    result = minimize(negative, start, jac=True, method="L-BFGS-B", bounds=bounds,
                      options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-10})
    runaway = [name for name, theta in zip(names, result.x, strict=True) if abs(theta) > RUNAWAY]
    if runaway:
        message = _("%(model)s: the likelihood has no maximum at finite values of %(names)s, so the data "
                    "cannot estimate them (too few customers, too short a history, or data the model does "
                    "not suit).")
        towards = {name: "infinity" if theta > 0 else "zero"
                   for name, theta in zip(names, result.x, strict=True) if name in runaway}
        raise FitFailed(message % {"model": model, "names": ", ".join(runaway)},
                        details={"runaway": runaway, "towards": towards})
    value, gradient = negative(result.x)
    if not np.isfinite(value) or np.max(np.abs(gradient)) > GRADIENT_TOLERANCE:
        raise FitFailed(_("%(model)s: the optimiser found no maximum of the likelihood (%(reason)s).")
                        % {"model": model, "reason": result.message})
    return result.x
