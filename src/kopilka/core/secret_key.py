"""The platform's secret key (sessions, CSRF, signed links): where it comes from and when it is too weak to serve.

The key is KOPILKA_SECRET_KEY, or else the file `secret_key` of the data folder, which only the demo writes (a
random key, once, readable by its owner alone). There is no built-in default: without either, nothing that signs
works, and neither `serve` nor the served application (`kopilka.wsgi`, however a server loads it) starts.
"""

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

FILE_NAME = "secret_key"
MIN_LENGTH = 32
# Keys published with this project or its framework's examples: anyone could sign with them.
KNOWN_KEYS = frozenset({"insecure-development-key-change-me", "change-me", "secret", "django-insecure"})


def read(data_dir: Path) -> str:
    """The key from the environment, else from the data folder's file, else ""."""
    if key := os.environ.get("KOPILKA_SECRET_KEY", "").strip():
        return key
    try:
        return (data_dir / FILE_NAME).read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return ""


def ensure_file(data_dir: Path) -> Path:
    """The data folder's key file, written with a new random key if it does not exist yet (never replaced: that
    would sign every user out and break every link made before)."""
    path = data_dir / FILE_NAME
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(secrets.token_urlsafe(48) + "\n")
    return path


def weakness(key: str) -> str | None:
    """Why `key` must not be served with, or None when it will do."""
    if not key:
        return "no secret key: set KOPILKA_SECRET_KEY (e.g. to the output of `openssl rand -hex 32`)"
    if key in KNOWN_KEYS or key.startswith("django-insecure"):
        return "the secret key is a published one: set KOPILKA_SECRET_KEY to a random value of your own"
    if len(key) < MIN_LENGTH or len(set(key)) < 5:
        return f"the secret key is too weak: use at least {MIN_LENGTH} random characters"
    return None


def configured() -> str:
    """The key of the settings in force ("" when there is none: Django refuses to read an empty one)."""
    try:
        return settings.SECRET_KEY
    except ImproperlyConfigured:
        return ""


def refusal(key: str) -> str | None:
    """What a server says when it will not serve with `key`, or None when the key will do."""
    problem = weakness(key)
    return f"Not serving: {problem}." if problem else None


def check_served() -> None:
    """ImproperlyConfigured, with `serve`'s explanation, when the key in force is weak and the platform is not in
    DEBUG: the served application checks it itself, so a server started on it without `serve` (gunicorn or
    uWSGI on `kopilka.wsgi`, `kopilka.runtime.served`) refuses to start as `serve` does."""
    if settings.DEBUG:
        return
    if message := refusal(configured()):
        raise ImproperlyConfigured(message)
