"""The reports `kopilka analytics NAME ...` prints: each report here (a module or an object) has NAME, HELP, add_arguments(parser) and
run(options) -> Table | dict (a dict is printed as JSON whatever the format)."""

from kopilka.analytics.reports import abc, clusters, clv, cohorts, cuts, kpi, levers, rfm, rfm_grid

REPORTS = {module.NAME: module for module in (kpi, rfm, rfm_grid, clusters, clv, cuts.points, cuts.sales, cohorts,
                                              abc, levers)}
