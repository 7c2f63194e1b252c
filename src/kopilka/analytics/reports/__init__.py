"""The reports `kopilka analytics NAME ...` prints (the command lists them in `REPORTS`): each report here (a
module or an object) has NAME, HELP, add_arguments(parser) and run(options) -> Table | dict (a dict is
printed as JSON whatever the format); `options` holds the arguments they share."""
