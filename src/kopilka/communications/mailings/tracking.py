"""Tracking a mailing's e-mail: an open pixel and redirects of its links, through the programme's public address.

Tokens are signed with the installation's secret key (django.core.signing): an open token names the message, a
click token the message and one link. Only links found in the message's text when it was filled get a token, so the
redirect goes nowhere else (no open redirect): a token not made here is refused. SMS is not tracked (its links would
grow past a message's length, and it has no pixel). Each open and click is recorded (`MessageEvent`); a click counts
as an open in the results (a reader whose mail program blocks pictures still opened it).
"""

import html as markup
import re
import uuid

from django.core import signing
from django.utils.translation import gettext as _

from kopilka.communications.mailings.models import MESSAGE_KIND, MessageEvent
from kopilka.communications.models import Message
from kopilka.core import clock, programme
from kopilka.core.errors import NotFound

SALT = "kopilka.communications.tracking"
LINK = re.compile(r"https?://[^\s<>\"'«»]+")
TRAILING = ".,;:!?)"
PIXEL = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,"
         b"\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")


def _signer() -> signing.Signer:
    return signing.Signer(salt=SALT)


def is_tracked(message: Message) -> bool:
    return message.kind == MESSAGE_KIND and message.channel == Message.Channel.EMAIL


def tracked(text: str, uid: uuid.UUID) -> str:
    """The text with each of its links replaced by its redirect through the public address."""
    base = programme.value("PUBLIC_URL")

    def redirect(found: re.Match) -> str:
        link = found.group(0)
        kept = link.rstrip(TRAILING)
        token = _signer().sign_object({"m": uid.hex, "u": kept}, compress=True)
        return f"{base}/t/c/{token}/{link[len(kept):]}"

    return LINK.sub(redirect, text) if base else text


def pixel_url(uid: uuid.UUID) -> str:
    return f"{programme.value('PUBLIC_URL')}/t/o/{_signer().sign(uid.hex)}.gif"


def html(message: Message) -> str | None:
    """The HTML alternative of a tracked e-mail: its text, links clickable, and the open pixel; None for a message
    that is not tracked."""
    if not is_tracked(message) or not programme.value("PUBLIC_URL"):
        return None
    escaped = markup.escape(message.body)
    linked = LINK.sub(lambda found: f'<a href="{found.group(0)}">{found.group(0)}</a>', escaped)
    body = linked.replace("\n", "<br>\n")
    return (f"<!DOCTYPE html><html><body><div>{body}</div>"
            f'<img src="{pixel_url(message.uid)}" width="1" height="1" alt=""></body></html>')


def _message(uid_hex: str) -> Message:
    try:
        found = Message.objects.filter(uid=uuid.UUID(hex=uid_hex), kind=MESSAGE_KIND).first()
    except ValueError:
        found = None
    if found is None:
        raise NotFound(_("No such message."), code="tracking_unknown")
    return found


def opened(token: str) -> None:
    """Record an open of the message the pixel's token names; NotFound for a token not made here."""
    try:
        uid_hex = _signer().unsign(token)
    except signing.BadSignature:
        raise NotFound(_("No such message."), code="tracking_unknown") from None
    MessageEvent.objects.create(message=_message(uid_hex), kind=MessageEvent.Kind.OPEN, at=clock.now())


def clicked(token: str) -> str:
    """Record a click of the link the token names and return that link; NotFound for a token not made here."""
    try:
        named = _signer().unsign_object(token)
        uid_hex, link = str(named["m"]), str(named["u"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise NotFound(_("No such link."), code="tracking_unknown") from None
    if not LINK.fullmatch(link):
        raise NotFound(_("No such link."), code="tracking_unknown")
    MessageEvent.objects.create(message=_message(uid_hex), kind=MessageEvent.Kind.CLICK, url=link[:2000],
                                at=clock.now())
    return link
