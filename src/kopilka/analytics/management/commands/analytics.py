"""`kopilka analytics REPORT [options] [--format csv|json|xlsx] [--output FILE]`: the analysts' reports.

CSV and JSON go to standard output unless --output names a file; XLSX needs --output. A report that returns a
dict (fitted parameters with predictions, say) is printed as JSON whatever the format.
"""

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from kopilka.analytics.presentation.tables import Table, write_csv, xlsx_bytes
from kopilka.analytics.reports import abc, clusters, clv, cohorts, cuts, kpi, levers, rfm, rfm_grid

# name → report, in the order the help lists them
REPORTS = {report.NAME: report for report in (kpi, rfm, rfm_grid, clusters, clv, cuts.points, cuts.sales,
                                              cohorts, abc, levers)}


class Command(BaseCommand):
    help = "Analytics for analysts: " + ", ".join(REPORTS)

    def add_arguments(self, parser) -> None:
        which = parser.add_subparsers(dest="report", required=True, parser_class=type(parser))
        for name, report in REPORTS.items():
            sub = which.add_parser(name, help=report.HELP, called_from_command_line=getattr(
                parser, "called_from_command_line", None))
            report.add_arguments(sub)
            sub.add_argument("--format", choices=["csv", "json", "xlsx"], default="csv")
            sub.add_argument("--output", type=Path, help="write to this file instead of standard output")

    def run_from_argv(self, argv) -> None:
        """On the command line, input a report refuses is a message and exit status 2, not a traceback
        (call_command still raises the ApplicationError)."""
        from kopilka.core.errors import ApplicationError

        try:
            super().run_from_argv(argv)
        except ApplicationError as error:
            self.stderr.write(f"{error.message}")
            sys.exit(2)

    def handle(self, *args, **options) -> None:
        report = REPORTS[options["report"]]
        fmt, output = options["format"], options["output"]
        if fmt == "xlsx" and output is None:
            raise CommandError("--format xlsx needs --output FILE")
        result = report.run(_Options(options))
        if isinstance(result, Table) and fmt == "xlsx":
            output.write_bytes(xlsx_bytes([result]))
            return
        stream = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
        try:
            if isinstance(result, Table) and fmt == "csv":
                write_csv(result, stream)
            else:
                payload = result.records() if isinstance(result, Table) else result
                json.dump(payload, stream, ensure_ascii=False, default=str)
                stream.write("\n")
        finally:
            if output:
                stream.close()


class _Options:
    """The parsed options by attribute: options.as_of rather than options["as_of"]."""

    def __init__(self, options: dict) -> None:
        self.__dict__.update(options)
