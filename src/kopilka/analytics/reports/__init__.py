"""The reports `kopilka analytics NAME ...` prints: each module here has NAME, HELP, add_arguments(parser) and
run(options) -> Table | dict (a dict is printed as JSON whatever the format)."""

from kopilka.analytics.reports import rfm, rfm_grid

REPORTS = {module.NAME: module for module in (rfm, rfm_grid)}
