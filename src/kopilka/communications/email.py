"""E-mail over SMTP (Django's e-mail settings: KOPILKA_SMTP_* in the environment).

Every try of a message carries the same Message-ID; a marketing message carries its unsubscribe address in the
RFC 8058 headers (`List-Unsubscribe` and `List-Unsubscribe-Post: List-Unsubscribe=One-Click`); a mailing's e-mail
has an HTML alternative with its open pixel (`mailings.tracking`)."""

import threading
from contextlib import suppress
from email.utils import parseaddr
from smtplib import SMTPServerDisconnected

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection

from kopilka.communications.cut_off import SendFailed, cut_off
from kopilka.communications.mailings import tracking
from kopilka.communications.models import Message


def message_id(message: Message) -> str:
    """The message's Message-ID, the same on every try."""
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
    return f"<{message.uid}@{domain}>"


def headers(message: Message) -> dict[str, str]:
    """The headers the message goes with besides the usual ones."""
    extra = {"Message-ID": message_id(message)}
    if message.unsubscribe_url:
        extra["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        extra["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return extra


def send(message: Message, deadline: float) -> str:
    """Hand the message to the SMTP server, cut off at the monotonic moment `deadline`; returns "" (SMTP gives no
    id of its own) or raises SendFailed."""
    backend = get_connection()
    mail = EmailMultiAlternatives(message.subject, message.body, settings.DEFAULT_FROM_EMAIL, [message.to],
                                  headers=headers(message), connection=backend)
    if (html := tracking.html(message)) is not None:
        mail.attach_alternative(html, "text/html")
    socket_of = lambda: getattr(getattr(backend, "connection", None), "sock", None)  # noqa: E731
    try:
        with cut_off(socket_of, deadline) as cut:
            _hand_over(backend, mail, cut)
    except OSError as error:  # SMTP errors are OSErrors too
        raise SendFailed(f"cut off: {error}" if cut.is_set() else str(error)) from error
    return ""


def _hand_over(backend, mail: EmailMessage, cut: threading.Event) -> None:
    """Connect, send the one message and hang up; nothing of the message goes out once `cut` is set."""
    try:
        backend.open()
        if cut.is_set():
            raise SMTPServerDisconnected("no time left to send")
        backend.send_messages([mail])
    finally:
        with suppress(OSError):  # the message's fate is decided before the goodbye
            backend.close()
