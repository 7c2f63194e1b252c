"""Real receivers on loopback for the messages' tests: an SMTP server (aiosmtpd) and a fake SMS provider (an HTTP
server), and a clock the test moves."""

import asyncio
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest
from aiosmtpd.controller import Controller

from kopilka.core import clock


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


@dataclass
class Call:
    """One request the fake provider got: method, path, query, headers, and the body's fields (JSON or form)."""

    method: str
    path: str
    query: dict
    headers: dict
    fields: dict


@dataclass
class FakeProvider:
    """An SMS provider's HTTP interface on loopback: it keeps every request and answers `status` with `answer`
    (a JSON document; a callable of the call gives one per call); `slow` seconds drips the answer a byte at a
    time."""

    url: str = ""
    calls: list[Call] = field(default_factory=list)
    status: int = 200
    answer: object = None
    slow: float = 0.0

    def reply(self, call: Call) -> bytes:
        answer = self.answer(call) if callable(self.answer) else self.answer
        return json.dumps(answer if answer is not None else {}).encode()


@pytest.fixture
def provider():
    fake = FakeProvider()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def _handle(self):
            parts = urlsplit(self.path)
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            kind = self.headers.get("Content-Type", "")
            fields = json.loads(raw) if "json" in kind else dict(parse_qsl(raw))
            call = Call(self.command, parts.path, dict(parse_qsl(parts.query)), dict(self.headers), fields)
            fake.calls.append(call)
            body = fake.reply(call)
            self.send_response(fake.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            for byte in body:
                if fake.slow:
                    time.sleep(fake.slow)
                try:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                except OSError:
                    return

        do_GET = do_POST = _handle  # noqa: N815 - http.server's names

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/api/send"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()
