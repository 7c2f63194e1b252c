"""`kopilka analytics clv --as-of DATE [--unit day|week|month] [--horizon N] [--discount-rate D]`: the
lifetime value of members.

JSON: the fitted BG/NBD and Gamma-Gamma parameters with the predictions per member. CSV and XLSX: the table
of predictions per member only (the parameters do not fit a table)."""

from django.utils.translation import gettext_lazy as _

from kopilka.analytics.lifetime import clv
from kopilka.analytics.presentation.tables import Column, Table
from kopilka.analytics.reports.options import add_as_of, add_unit

NAME = "clv"
HELP = "BG/NBD and Gamma-Gamma fits: expected purchases, P(alive) and value per member over a horizon"

COLUMNS = [
    Column("customer_id", _("customer id")), Column("frequency", _("repeat purchases")),
    Column("recency", _("recency")), Column("T", _("age (T)")),
    Column("monetary_value", _("mean repeat purchase")),
    Column("expected_purchases", _("expected purchases")), Column("p_alive", _("probability still active")),
    Column("expected_average_value", _("expected value of a purchase")),
    Column("expected_value", _("expected value over the horizon")),
]


def add_arguments(parser) -> None:
    add_as_of(parser)
    add_unit(parser)
    parser.set_defaults(unit="week")
    parser.add_argument("--horizon", type=int, help="units of time to predict for (default: a year)")
    parser.add_argument("--discount-rate", type=float, help="discount rate per unit of time (default: none)")


def run(options) -> Table | dict:
    """A dict for --format json, else the Table; a mle.ModelFitError (an ApplicationError) says why the models
    could not be fitted."""
    result = clv.fit(options.as_of, options.unit, options.horizon, options.discount_rate)
    table = Table("clv", _("Customer lifetime value"), COLUMNS, [
        [m.customer_id, m.frequency, m.recency, m.T, m.monetary_value, m.expected_purchases, m.p_alive,
         m.expected_average_value, m.expected_value] for m in result.members()])
    if getattr(options, "format", "json") != "json":
        return table
    model, spend = result.bgnbd, result.gamma_gamma
    return {
        "as_of": result.as_of.isoformat(), "unit": result.unit, "horizon": result.horizon,
        "discount_rate": result.discount_rate,
        "bgnbd": {"r": model.r, "alpha": model.alpha, "a": model.a, "b": model.b,
                  "log_likelihood": model.log_likelihood, "customers": model.customers, "penalty": model.penalty},
        "gamma_gamma": {"p": spend.p, "q": spend.q, "v": spend.v, "log_likelihood": spend.log_likelihood,
                        "customers": spend.customers},
        "members": table.records(),
    }
