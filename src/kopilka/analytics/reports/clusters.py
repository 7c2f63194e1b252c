"""`kopilka analytics clusters --as-of DATE [--k-min 2 --k-max 8] [--silhouettes]`: k-means clusters of the members
on payment behaviour, one row per cluster (or the silhouette score of every k tried)."""

from django.core.management.base import CommandError
from django.utils.translation import gettext_lazy as _

from kopilka.analytics.measures.clusters import CannotCluster, cluster
from kopilka.analytics.presentation.tables import Table
from kopilka.analytics.reports.options import add_as_of

NAME = "clusters"
HELP = "k-means clusters of the members on payment behaviour: share, LTV, deals, days between, top categories"


def add_arguments(parser) -> None:
    add_as_of(parser)
    parser.add_argument("--k-min", type=int, default=2, help="the fewest clusters to try (at least 2)")
    parser.add_argument("--k-max", type=int, default=8, help="the most clusters to try")
    parser.add_argument("--silhouettes", action="store_true",
                        help="print the silhouette score of every number of clusters tried instead")


def run(options) -> Table:
    try:
        result = cluster(options.as_of, options.k_min, options.k_max)
    except CannotCluster as error:
        raise CommandError(str(_("No clusters: %(reason)s") % {"reason": error.message})) from error
    return result.silhouette_table() if options.silhouettes else result.table()
