"""The back office's roles and what each may do, as Django groups with permissions.

`sync_roles` (run after every migrate) makes each group hold exactly the permissions listed here, so a role's rights
are code, reviewed like code. Administrators may still add people to roles and give single users extra rights.
A permission is named "app_label.codename"; "app_label.view_*" stands for every model's view permission of the app.
"""

from django.contrib.auth.models import Group, Permission
from django.utils.translation import gettext_lazy as _

ADMINISTRATOR = "administrator"
MARKETER = "marketer"
SUPPORT = "support"
SENIOR_SUPPORT = "senior_support"
HEAD_OF_SUPPORT = "head_of_support"
ANALYST = "analyst"
AUDITOR = "auditor"

_READ_ALL = [f"{app}.view_*" for app in ("customers", "ledger", "catalog", "campaigns", "tiers", "orders")]
_SUPPORT = [
    "backoffice.use_support_console", "backoffice.grant_compensation", "backoffice.view_compensationrequest",
    "customers.view_member", "customers.view_consent", "customers.view_externalid", "customers.view_tag",
    "customers.view_region", "ledger.view_account", "ledger.view_lot", "ledger.view_entry", "ledger.view_reasoncode",
    "orders.view_order", "orders.view_orderline", "tiers.view_tier", "tiers.view_membertier",
    "campaigns.view_campaign", "core.members_read", "core.ledger_read", "core.purchases_read",
    "core.reference_read", "communications.view_message", "communications.view_attempt",
]
_MARKETER = [
    *_READ_ALL,
    "campaigns.add_campaign", "campaigns.change_campaign", "campaigns.add_campaigntype",
    "campaigns.change_campaigntype",
    "campaigns.add_eventtype", "campaigns.change_eventtype",
    "catalog.add_product", "catalog.change_product", "catalog.add_productgroup", "catalog.change_productgroup",
    "customers.add_tag", "customers.change_tag", "customers.add_city", "customers.change_city",
    "ledger.add_reasoncode", "ledger.change_reasoncode", "tiers.add_tier", "tiers.change_tier",
    "core.campaigns_read", "core.campaigns_write", "core.catalog_read", "core.catalog_write", "core.members_read",
    "core.analytics_read", "core.reference_read", "core.reference_write",
    "communications.view_messagetemplate", "communications.add_messagetemplate",
    "communications.change_messagetemplate", "communications.view_message", "communications.view_attempt",
    "communications.view_noticesetting", "communications.change_noticesetting",
    "communications.view_mailing", "communications.add_mailing", "communications.change_mailing",
    "communications.view_planmechanic", "communications.add_planmechanic", "communications.change_planmechanic",
    "communications.view_journey", "communications.add_journey", "communications.change_journey",
]

# code → (name, permissions)
ROLES = {
    ADMINISTRATOR: (_("Administrator"), ["*"]),
    MARKETER: (_("Marketer"), _MARKETER),
    SUPPORT: (_("Support agent"), _SUPPORT),
    SENIOR_SUPPORT: (_("Senior support agent"), _SENIOR := [
        *_SUPPORT, "backoffice.approve_compensation", "backoffice.spend_points", "backoffice.burn_lot",
        "backoffice.reverse_entry", "core.ledger_write",
    ]),
    HEAD_OF_SUPPORT: (_("Head of support"), _SENIOR),
    ANALYST: (_("Analyst"), [*_READ_ALL, "core.analytics_read", "analytics.share_analytics", "analytics.view_snapshot",
                             "core.members_read", "core.ledger_read",
                             "core.purchases_read", "core.campaigns_read", "core.catalog_read",
                             "core.reference_read", "communications.view_mailing",
                             "communications.view_journey", "communications.view_planmechanic"]),
    AUDITOR: (_("Auditor (read only)"), [
        *_READ_ALL, "core.view_auditevent", "backoffice.view_audit_log", "backoffice.view_compensationrequest",
        "backoffice.view_compensationlimit", "core.view_apikey", "core.view_programmesettings", "auth.view_user",
        "auth.view_group", "communications.view_message", "communications.view_attempt",
        "communications.view_smsprovider", "communications.view_noticesetting",
        "backoffice.use_support_console",
    ]),
}


# Compensation points a role may grant alone (per operation, per day) and the largest request it may approve (None:
# any); made once, then edited by administrators. The head of support approves what a senior agent may not.
DEFAULT_COMPENSATION_LIMITS = {
    SUPPORT: (500, 2_000, 0), SENIOR_SUPPORT: (5_000, 50_000, 20_000), HEAD_OF_SUPPORT: (20_000, 200_000, None),
    ADMINISTRATOR: (50_000, 500_000, None),
}


def role_permissions(code: str) -> list[Permission]:
    """The permissions the role `code` holds; an unknown permission name is an error, not a silent gap."""
    wanted = ROLES[code][1]
    if wanted == ["*"]:
        return list(Permission.objects.all())
    found: list[Permission] = []
    for name in wanted:
        app_label, codename = name.split(".", 1)
        query = Permission.objects.filter(content_type__app_label=app_label)
        if codename.endswith("*"):
            matched = list(query.filter(codename__startswith=codename[:-1]))
        else:
            matched = list(query.filter(codename=codename))
        if not matched:
            raise LookupError(f"role {code}: no permission {name}")
        found.extend(matched)
    return found


def sync_roles(sender=None, **kwargs) -> None:
    """Create the roles' groups, give each exactly its permissions and, once, its compensation limits. Waits until
    every app's permissions exist (post_migrate is sent once per app; the back office is the last app)."""
    from kopilka.backoffice.models import CompensationLimit

    if sender is not None and sender.label != "backoffice":
        return
    for code in ROLES:
        group, _created = Group.objects.get_or_create(name=code)
        group.permissions.set(role_permissions(code))
        if code in DEFAULT_COMPENSATION_LIMITS:
            per_operation, per_day, approve_up_to = DEFAULT_COMPENSATION_LIMITS[code]
            CompensationLimit.objects.get_or_create(role=group, defaults={
                "per_operation": per_operation, "per_day": per_day, "approve_up_to": approve_up_to})
