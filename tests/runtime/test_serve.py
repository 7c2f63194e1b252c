import secrets
import signal
import subprocess
import sys

import pytest

from kopilka.core import secret_key
from kopilka.runtime.management.commands.serve import gunicorn_argv
from tests.runtime.processes import KOPILKA, free_port, isolated_env, wait_for_http


def test_serve_collects_static_files_and_runs_gunicorn_until_sigterm(tmp_path):
    port = free_port()
    server = subprocess.Popen(
        [KOPILKA, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "2"],
        env=isolated_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        docs = wait_for_http(f"http://127.0.0.1:{port}/api/v1/docs")
        css = wait_for_http(f"http://127.0.0.1:{port}/static/admin/css/base.css")
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=30)

    assert docs.status_code == 200, output
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]
    assert (tmp_path / "static" / "admin" / "css" / "base.css").is_file()
    assert server.returncode == 0, output
    assert "gunicorn" in output.lower()


@pytest.mark.parametrize("key", ["", "insecure-development-key-change-me", "short-key"])
def test_serve_refuses_to_start_without_a_strong_secret_key(tmp_path, key):
    env = {**isolated_env(tmp_path), "KOPILKA_SECRET_KEY": key}
    done = subprocess.run([KOPILKA, "serve", "--bind", f"127.0.0.1:{free_port()}"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "Not serving" in done.stderr and "secret key" in done.stderr


def test_the_demo_key_is_made_once_and_read_from_the_data_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("KOPILKA_SECRET_KEY")
    assert secret_key.read(tmp_path) == ""
    path = secret_key.ensure_file(tmp_path)
    key = secret_key.read(tmp_path)
    assert secret_key.weakness(key) is None and oct(path.stat().st_mode & 0o777) == "0o600"
    assert secret_key.ensure_file(tmp_path) == path and secret_key.read(tmp_path) == key
    monkeypatch.setenv("KOPILKA_SECRET_KEY", "x" * 40)
    assert secret_key.read(tmp_path) == "x" * 40 and secret_key.weakness("x" * 40) is not None


def test_the_server_loads_the_application_before_it_listens():
    """A server started again after a crash accepts connections only when its workers can answer at once: on a
    busy machine the first answers came 5–10 s after a restarted server began to accept, while each worker set
    Django up and imported the routes (found by the fault test, bench/chaos.py)."""
    argv = gunicorn_argv(bind="127.0.0.1:8000", workers=2, threads=4)
    assert "--preload" in argv and "kopilka.runtime.served" in argv


def test_the_served_application_imports_every_route_leaves_no_connection_open_and_freezes_what_it_made(tmp_path):
    """Frozen: the workers' full garbage collections do not walk the application's own objects (see `served`)."""
    probe = (
        "import gc, sys, kopilka.runtime.served\n"
        "from django.db import connections\n"
        "routes = ('kopilka.api.purchases', 'kopilka.api.events', 'kopilka.backoffice.views.support')\n"
        "print(all(name in sys.modules for name in routes), [c.connection for c in connections.all()])\n"
        "print(gc.get_freeze_count() > 10 * len(gc.get_objects()))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], env=isolated_env(tmp_path), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["True [None]", "True"]


def _served(env: dict[str, str], module: str) -> subprocess.CompletedProcess:
    """A child that imports `module` as a WSGI server loads the application, then prints what it got."""
    probe = f"import {module} as served\nprint(type(served.application).__name__)\n"
    return subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("module", ["kopilka.wsgi", "kopilka.runtime.served"])
@pytest.mark.parametrize("key", ["", "insecure-development-key-change-me", "short-key"])
def test_the_served_application_refuses_to_start_without_a_strong_secret_key(tmp_path, key, module):
    """A server started on the application without `kopilka serve` (gunicorn kopilka.wsgi by hand, a unit file)
    checks the key all the same: the application is not made."""
    env = {**isolated_env(tmp_path), "KOPILKA_SECRET_KEY": key, "KOPILKA_DEBUG": "0"}

    done = _served(env, module)

    assert done.returncode != 0 and done.stdout == ""
    assert f"ImproperlyConfigured: Not serving: {secret_key.weakness(key)}." in done.stderr


def test_gunicorn_started_by_hand_on_a_weak_key_stops_with_the_explanation(tmp_path):
    env = {**isolated_env(tmp_path), "KOPILKA_SECRET_KEY": "short-key", "KOPILKA_DEBUG": "0"}
    argv = [sys.executable, "-m", "gunicorn", "kopilka.wsgi", "--bind", f"127.0.0.1:{free_port()}", "--workers", "1",
            "--no-control-socket"]

    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)

    assert done.returncode != 0
    assert "Not serving: the secret key is too weak" in done.stderr


@pytest.mark.parametrize("case", ["a strong key", "the demo's key", "a weak key in DEBUG"])
def test_the_served_application_starts_with_a_strong_key_the_demos_key_or_in_debug(tmp_path, case):
    env = {k: v for k, v in isolated_env(tmp_path).items() if k not in ("KOPILKA_SECRET_KEY", "KOPILKA_DEBUG")}
    if case == "a strong key":
        env["KOPILKA_SECRET_KEY"] = secrets.token_hex(32)
    elif case == "the demo's key":  # no KOPILKA_SECRET_KEY: the random key the demo wrote into its data folder
        secret_key.ensure_file(tmp_path)
    else:
        env.update(KOPILKA_SECRET_KEY="short-key", KOPILKA_DEBUG="1")

    done = _served(env, "kopilka.wsgi")

    assert (done.returncode, done.stdout) == (0, "WSGIHandler\n"), done.stderr
