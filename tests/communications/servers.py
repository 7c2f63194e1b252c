"""Real servers and a movable clock for the tests of communications: an SMTP server on loopback (aiosmtpd) that keeps
what it is sent, and `clock.now()` held by the test."""

import asyncio
import socket
import threading
from datetime import timedelta
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller

from kopilka.core import clock


class Inbox:
    """An SMTP handler that keeps every message it is sent. `stall(mail)`, when set, may return a test that holds
    the message's answer back while it is true; meanwhile the server stays live (a line of a multi-line answer every
    0.1 s), and a client that hangs up before the answer has not sent the message."""

    def __init__(self):
        self.received = []
        self.stall = None
        self.stalled = threading.Event()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        mail = message_from_bytes(envelope.content)
        holding = self.stall(mail) if self.stall else None
        while holding is not None and holding():
            self.stalled.set()
            await server.push("250-still working")
            await asyncio.sleep(0.1)
        self.received.append((envelope.rcpt_tos, mail))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(settings):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    yield inbox
    controller.stop()


class Moments:
    """The clock of a test: `clock.now()` answers `now` until the test moves it."""

    def __init__(self, monkeypatch):
        self.now = clock.now()
        monkeypatch.setattr(clock, "now", lambda: self.now)

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def moments(monkeypatch) -> Moments:
    return Moments(monkeypatch)
