"""A webhook receiver on loopback (a threaded http.server) that checks every request it is sent with the
`standardwebhooks` package, as a receiver would, and answers what the test asks."""

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import standardwebhooks.webhooks as standard
from standardwebhooks import Webhook, WebhookVerificationError

from kopilka.core import clock


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified_with: list[str]  # the receiver's secrets that accept the request
    json: object = None


@dataclass
class Receiver:
    """`secrets`: what the receiver holds; `answers`: (status, headers, body) to give, one per request, then 200;
    `stall`: seconds to wait before answering."""

    port: int = 0
    secrets: list[str] = field(default_factory=list)
    answers: deque = field(default_factory=deque)
    received: list[Received] = field(default_factory=list)
    stall: float = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def answer(self, *answers: tuple[int, dict[str, str], str]) -> None:
        self.answers.extend(answers)

    def take(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], str]:
        accepted, parsed = [], None
        for secret in self.secrets:
            try:
                parsed = Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
            accepted.append(secret)
        self.received.append(Received(path, headers, body, accepted, parsed))
        return self.answers.popleft() if self.answers else (200, {}, "ok")


class _TestClock(datetime):
    """standardwebhooks checks the timestamp against "now": the receiver's now is the test's clock."""

    @classmethod
    def now(cls, tz=None):
        return clock.now().astimezone(tz or UTC)


@pytest.fixture
def receiver(monkeypatch):
    monkeypatch.setattr(standard, "datetime", _TestClock)
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status, headers, text = state.take(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            time.sleep(state.stall)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(text.encode())))
            self.end_headers()
            self.wfile.write(text.encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
