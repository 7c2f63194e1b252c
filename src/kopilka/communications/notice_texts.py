"""A campaign notice's text, made right before its send: `notice_campaigns` writes the notices set-based without one,
and the worker holding a message's claim fills it here (`services.fill_at_send`, wired by the composition root), so
the member's variables (names, balance, tier) are as they are when it goes.

The text is the template the notice's run started with (`CampaignNoticeRun.template`), filled for the member with the
campaign's public name and days (`about`), as `notice_messages.tell` fills a notice it records; a marketing e-mail
gets its unsubscribe line and link. An SMS to a member whose phone is not a phone number is skipped (`not_a_phone`),
as `services.notify` would have decided. The text is written only while this worker holds the message, so its every
try sends the same text.
"""

from datetime import timedelta

from kopilka.campaigns.models import Campaign
from kopilka.communications import claimed_text
from kopilka.communications.message_templates import compose
from kopilka.communications.models import Message
from kopilka.communications.notice_models import CampaignNoticeRun, NoticeSetting
from kopilka.core import clock

KINDS = (NoticeSetting.Kind.CAMPAIGN_STARTED, NoticeSetting.Kind.CAMPAIGN_ENDING)


def source_prefix(campaign_id: int) -> str:
    """A campaign's notice to member M has the kind of its run and source "<prefix><M>"."""
    return f"campaign:{campaign_id}:member:"


def about(campaign: Campaign) -> dict:
    """The campaign's variables in its notices (`campaign.name`, `.first_day`, `.last_day`, in the programme's
    days)."""
    last_day = clock.local_date(campaign.ends_at - timedelta(microseconds=1)) if campaign.ends_at else None
    return {"name": campaign.public_name, "first_day": clock.local_date(campaign.starts_at), "last_day": last_day}


def fill(message: Message, worker: str) -> bool:
    """Write the claimed notice's text (`claimed_text.keep`); False when it may not go after all (then it is
    skipped)."""
    campaign_id = int(message.source.split(":")[1])
    run = CampaignNoticeRun.objects.select_related("campaign", "template").get(campaign_id=campaign_id,
                                                                                kind=message.kind)
    composed = compose(run.template, message.member_id, extra={"campaign": about(run.campaign)})
    return claimed_text.keep(message, worker, composed)
