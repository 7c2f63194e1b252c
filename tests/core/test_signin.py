"""Signing in: every attempt is audited (never its password), a name that failed five times in fifteen minutes
waits before its password is even checked; every page carries a Content Security Policy, and behind TLS the
cookies are secure and HSTS is on."""

import json
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from django.test import Client

import kopilka
from kopilka.core import clock, signin
from kopilka.core.models import AuditEvent


def _sign_in(client: Client, username: str, password: str):
    page = client.get("/admin/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    return client.post("/admin/login/?next=/office/", {"csrfmiddlewaretoken": token, "username": username,
                                                       "password": password, "next": "/office/"})


def test_sign_ins_are_audited_and_a_name_that_failed_too_often_waits(staff, monkeypatch):
    anna = staff("support", username="anna")
    client = Client(HTTP_ACCEPT_LANGUAGE="en", enforce_csrf_checks=True)
    for _ in range(signin.MAX_FAILURES_PER_NAME):
        assert _sign_in(client, "anna", "wrong").status_code == 200
    failed = AuditEvent.objects.filter(action=signin.FAILED)
    assert failed.count() == 5 and all(event.actor == "signin:anna" for event in failed)
    assert "wrong" not in json.dumps(list(failed.values_list("details", "summary")))
    refused = _sign_in(client, "anna", "pw")
    assert refused.status_code == 200 and "Too many failed attempts. Try again in 15 min." in refused.content.decode()
    assert not AuditEvent.objects.filter(action=signin.SUCCEEDED).exists()
    assert AuditEvent.objects.get(action=signin.REFUSED).actor == "signin:anna"
    later = clock.now() + signin.WINDOW + timedelta(seconds=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert _sign_in(client, "anna", "pw").status_code == 302
    assert AuditEvent.objects.get(action=signin.SUCCEEDED).user == anna


def test_other_names_are_not_held_back_by_one_name_s_failures(staff):
    staff("support", username="boris")
    client = Client(enforce_csrf_checks=True)
    for _ in range(signin.MAX_FAILURES_PER_NAME):
        _sign_in(client, "anna", "wrong")
    assert _sign_in(client, "boris", "pw").status_code == 302


def test_pages_carry_a_content_security_policy(staff):
    client = Client()
    client.force_login(staff("analyst"))
    policy = client.get("/office/analytics/dashboard/")["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "frame-ancestors 'self'" in policy
    assert "frame-ancestors *" in Client().get("/embed/analytics/1.x/")["Content-Security-Policy"]


def test_behind_tls_cookies_are_secure_and_hsts_is_on():
    code = ("from kopilka import settings as s; import json; print(json.dumps([s.SESSION_COOKIE_SECURE, "
            "s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, s.SECURE_SSL_REDIRECT, s.SECURE_PROXY_SSL_HEADER]))")
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, "KOPILKA_TLS": "1"},
                          capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(done.stdout) == [True, True, 31_536_000, True, ["HTTP_X_FORWARDED_PROTO", "https"]]


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)


def test_no_template_holds_a_script_the_policy_would_block():
    """`script-src 'self'` runs only scripts from files: an inline script or an on…= handler in a template would
    be dead code in the browser."""
    templates = Path(kopilka.__file__).parent.glob("**/templates/**/*.html")
    found = [f"{path.relative_to(Path(kopilka.__file__).parent)}: {match.group(0)[:60]}"
             for path in templates for pattern in (INLINE_SCRIPT, INLINE_HANDLER)
             for match in pattern.finditer(path.read_text(encoding="utf-8"))]
    assert found == []


def test_an_address_that_failed_too_often_waits_whatever_name_it_tries_behind_a_trusted_proxy(staff, settings):
    """Behind the platform's reverse proxy every connection comes from the proxy: the address counted is the one
    the proxy forwards (a client's own additions to the header are not believed), so one attacker's failures do
    not lock out everyone else."""
    staff("support", username="boris")
    settings.TRUSTED_PROXIES = frozenset({"127.0.0.1"})
    attacker = Client(enforce_csrf_checks=True, HTTP_X_FORWARDED_FOR="198.51.100.7, 203.0.113.5",
                      HTTP_ACCEPT_LANGUAGE="en")
    for n in range(signin.MAX_FAILURES_PER_ADDRESS):
        assert _sign_in(attacker, f"guess-{n}", "wrong").status_code == 200
    assert set(AuditEvent.objects.values_list("details__address", flat=True)) == {"203.0.113.5"}
    refused = _sign_in(attacker, "boris", "pw")
    assert refused.status_code == 200 and "Too many failed attempts" in refused.content.decode()
    colleague = Client(enforce_csrf_checks=True, HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert _sign_in(colleague, "boris", "pw").status_code == 302
