"""`kopilka analytics abc --from DATE --to DATE [--by members|sku|group] [--class-a 80] [--class-b 15] [--list]
[filters]`: ABC analysis by revenue, a row per class (or, for goods with --list, per SKU or product group)."""

from django.utils.translation import gettext_lazy as _

from kopilka.analytics.measures.abc import DEFAULT_A, DEFAULT_B, goods_abc, members_abc
from kopilka.analytics.presentation.tables import Table
from kopilka.analytics.reports.options import add_scope, percent, scope_of
from kopilka.core.errors import ValidationFailed

NAME = "abc"
HELP = "ABC analysis of members (or of SKUs, product groups) by revenue in a period"


def add_arguments(parser) -> None:
    add_scope(parser)
    parser.add_argument("--by", choices=["members", "sku", "group"], default="members",
                        help="what is classed: members, SKUs or product groups")
    parser.add_argument("--class-a", dest="class_a", type=percent, default=DEFAULT_A,
                        help="percent of revenue class A takes (default 80)")
    parser.add_argument("--class-b", dest="class_b", type=percent, default=DEFAULT_B,
                        help="percent of revenue class B takes after A (default 15); C takes the rest")
    parser.add_argument("--list", action="store_true", help="SKUs or product groups one by one, with their class")


def run(options) -> Table:
    scope = scope_of(options)
    if options.by == "members":
        if options.list:
            raise ValidationFailed(_("--list is for SKUs and product groups."), code="list_needs_goods")
        return members_abc(scope, options.class_a, options.class_b).table()
    result = goods_abc(scope, options.by, options.class_a, options.class_b)
    return result.goods_table() if options.list else result.table()
