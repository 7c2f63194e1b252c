"""Unsubscribe links: a signed token names the member and the channel; using it withdraws that consent at once.

The token is signed with the installation's secret key (django.core.signing) and does not run out: a link in an
old message still works. The address is the programme's public one (`PUBLIC_URL`) + /u/<token>/.
"""

from dataclasses import dataclass

from django.core import signing
from django.utils.translation import gettext as _

from kopilka.core import clock, programme
from kopilka.core.errors import NotFound
from kopilka.customers import services as members
from kopilka.customers.models import Member
from kopilka.customers.selectors import consents_in_force

SALT = "kopilka.communications.unsubscribe"
SOURCE = "unsubscribe link"


@dataclass(frozen=True)
class Subscription:
    member_id: int
    channel: str


def token(member_id: int, channel: str) -> str:
    """The same for the same member and channel: every message's link is the one link."""
    return signing.Signer(salt=SALT).sign_object({"m": member_id, "c": channel})


def url(member_id: int, channel: str) -> str:
    """The unsubscribe address; "" when the programme has no public address."""
    base = programme.value("PUBLIC_URL")
    return f"{base}/u/{token(member_id, channel)}/" if base else ""


def with_link(body: str, link: str) -> str:
    """A marketing e-mail's text with its unsubscribe line (`link`, from `url`) at the end, in the active language:
    the one way every marketing e-mail gets it."""
    return f"{body}\n\n{_('Unsubscribe from these messages: %(url)s') % {'url': link}}"


def read(given: str) -> Subscription:
    """What a token names, or NotFound when it was not made here."""
    try:
        named = signing.Signer(salt=SALT).unsign_object(given)
        return Subscription(member_id=int(named["m"]), channel=str(named["c"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise NotFound(code="unsubscribe_link_unknown") from None


def withdraw(subscription: Subscription) -> bool:
    """Withdraw the member's consent to the channel, recorded with its source as every consent is; returns whether a
    withdrawal was recorded now (not when one is already in force, nor for an erased member)."""
    status = Member.objects.filter(pk=subscription.member_id).values_list("status", flat=True).first()
    if status in (None, Member.Status.DELETED):
        return False
    in_force = consents_in_force([subscription.member_id]).get(subscription.member_id, {})
    current = in_force.get(subscription.channel)
    if current is not None and not current.granted:
        return False
    members.set_consent(member_id=subscription.member_id, channel=subscription.channel, granted=False,
                        source=SOURCE, actor=f"member:{subscription.member_id}", at=clock.now())
    return True
