"""The kinds of personal notices (SPEC §8.1): what each is about, its purpose, the template shipped for it and
whether it counts days before what it tells of.

Notices of the member's own points and tier are transactional: they go to every member with consent to the
channel, at any hour. Notices of a campaign are promo offers (marketing): only to the members the campaign applies
to and does not hold out, never to the programme's global control group, under the cap and quiet hours.
A member's personal percentage is not kept anywhere (a member earns the percent of their tier, `tier_percents`),
so its change is told by the tier notice.
"""

from dataclasses import dataclass

from kopilka.communications.models import Message
from kopilka.communications.notice_models import NoticeSetting

Kind = NoticeSetting.Kind


@dataclass(frozen=True)
class NoticeKind:
    purpose: str
    template: str  # the code of the template shipped for it
    counts_days: bool = False  # a setting of days before: the burn, the campaign's end


KINDS = {
    Kind.POINTS_ACCRUED: NoticeKind(Message.Purpose.TRANSACTIONAL, "notice-points-accrued"),
    Kind.POINTS_SPENT: NoticeKind(Message.Purpose.TRANSACTIONAL, "notice-points-spent"),
    Kind.POINTS_EXPIRING: NoticeKind(Message.Purpose.TRANSACTIONAL, "notice-points-expiring", counts_days=True),
    Kind.TIER_CHANGED: NoticeKind(Message.Purpose.TRANSACTIONAL, "notice-tier-changed"),
    Kind.CAMPAIGN_STARTED: NoticeKind(Message.Purpose.MARKETING, "notice-campaign-started"),
    Kind.CAMPAIGN_ENDING: NoticeKind(Message.Purpose.MARKETING, "notice-campaign-ending", counts_days=True),
}
# The outbox's event types that notices are made from.
KIND_OF_EVENT = {
    "points.accrued": Kind.POINTS_ACCRUED,
    "points.spent": Kind.POINTS_SPENT,
    "points.expiring": Kind.POINTS_EXPIRING,
    "tier.changed": Kind.TIER_CHANGED,
}
MOST_DAYS = 90
