"""Settings read from the environment; every value has a working default for the embedded SQLite demo.

Environment:
  DATABASE_URL            postgres://user@host:port/name or sqlite:///path; default: SQLite in the data folder
  KOPILKA_DATA_DIR        folder for the SQLite file and uploads; default: ./data of the checkout
  KOPILKA_SECRET_KEY      Django secret key; without it, the data folder's `secret_key` file (the demo writes one);
                          the served application refuses to start without a strong key (unless DEBUG)
  KOPILKA_DEBUG           1 to turn on debug pages (never in production)
  KOPILKA_ALLOWED_HOSTS   comma-separated host names
  KOPILKA_TLS             1 when served over HTTPS (behind a TLS proxy that sets X-Forwarded-Proto): secure
                          cookies, HTTP→HTTPS redirects and HSTS (KOPILKA_HSTS_SECONDS, default one year)
  KOPILKA_TIME_ZONE       the programme's time zone ("end of day", expiry dates); default Europe/Moscow
  KOPILKA_PUBLIC_URL      the platform's address as members and providers reach it (links in messages, delivery
                          reports), e.g. https://bonus.example.ru; marketing e-mail is refused without it
  KOPILKA_QUIET_HOURS     when marketing messages wait, in the member's time zone; default 21:00-09:00
  KOPILKA_MARKETING_CAP_MESSAGES, KOPILKA_MARKETING_CAP_DAYS
                          at most this many marketing messages per member and channel in this many days (3, 7)
"""

import os
from pathlib import Path
from typing import Any

import dj_database_url

from kopilka.core import secret_key

PACKAGE_DIR = Path(__file__).resolve().parent.parent
_checkout = PACKAGE_DIR.parent.parent
DATA_DIR = Path(
    os.environ.get("KOPILKA_DATA_DIR")
    or (_checkout / "data" if (_checkout / "pyproject.toml").exists() else Path.cwd() / "data")
)


def _flag(name: str, default: bool = False) -> bool:
    return os.environ.get(name, "1" if default else "0").strip().lower() in {"1", "true", "yes", "on"}


DEBUG = _flag("KOPILKA_DEBUG")
SECRET_KEY = secret_key.read(DATA_DIR)
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("KOPILKA_ALLOWED_HOSTS", "localhost,127.0.0.1").split(",")]
TLS = _flag("KOPILKA_TLS")
if TLS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("KOPILKA_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = _flag("KOPILKA_HSTS_SUBDOMAINS")
# The reverse proxies in front of the server (their addresses, comma-separated): a request from one of them is
# taken to come from the address it names in X-Forwarded-For (what sign-in limits count per address).
TRUSTED_PROXIES = frozenset(p.strip() for p in os.environ.get("KOPILKA_TRUSTED_PROXIES", "").split(",") if p.strip())
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("KOPILKA_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "ninja",  # the API's interactive docs from the platform's own static files (no CDN: on-premise servers are offline)
    "kopilka.core",
    "kopilka.customers",
    "kopilka.ledger",
    "kopilka.catalog",
    "kopilka.campaigns",
    "kopilka.tiers",
    "kopilka.orders",
    "kopilka.communications",
    "kopilka.analytics",
    "kopilka.backoffice",  # the last app with models: after it migrates, roles get every app's permissions
    "kopilka.runtime",  # the composition root: the platform's commands, the periodic schedule, the wiring
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "kopilka.runtime.security.ContentSecurityPolicy",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "kopilka.api.middleware.ApiGuard",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "kopilka.backoffice.middleware.ProgrammeTimeZoneMiddleware",
]

ROOT_URLCONF = "kopilka.urls"
# The back office signs people in through the admin's login page.
LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "/office/"
WSGI_APPLICATION = "kopilka.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ]
        },
    }
]


def _database() -> dict:
    url = os.environ.get("DATABASE_URL")
    if not url:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{DATA_DIR / 'kopilka.sqlite3'}"
    db = dj_database_url.parse(url, conn_max_age=int(os.environ.get("KOPILKA_CONN_MAX_AGE", "60")))
    if db["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets the web server and the worker read while one writes; IMMEDIATE takes the write lock
        # at BEGIN, so two writers queue instead of deadlocking on a lock upgrade.
        db["CONN_MAX_AGE"] = 0
        db["OPTIONS"] = {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        }
        db.setdefault("TEST", {})["NAME"] = os.environ.get("KOPILKA_TEST_SQLITE") or None
    elif db["ENGINE"] == "django.db.backends.postgresql" and _flag("KOPILKA_PG_PREPARED", default=True):
        # Server-side binding, and statements prepared once a connection has run them five times: PostgreSQL
        # plans the hot paths' statements once per connection instead of once per call (planning costs more than
        # running most of them). Turn it off behind a transaction-mode connection pooler.
        db.setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=5)
    return db


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "ru"
LANGUAGES = [("ru", "Русский"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Messages to members go out through this SMTP server (the worker sends the outbox every minute).
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = os.environ.get("KOPILKA_SMTP_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("KOPILKA_SMTP_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("KOPILKA_SMTP_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("KOPILKA_SMTP_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("KOPILKA_SMTP_TLS", "0") == "1"
EMAIL_TIMEOUT = int(os.environ.get("KOPILKA_SMTP_TIMEOUT", "10"))
DEFAULT_FROM_EMAIL = os.environ.get("KOPILKA_MAIL_FROM", "Копилка <bonus@localhost>")

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "periodic"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "kopilka": {"handlers": ["console"], "level": os.environ.get("KOPILKA_LOG_LEVEL", "INFO")},
        "django_tasks_db": {"handlers": ["console"], "level": "INFO"},
    },
}

# The programme: values a deployment sets once. Rounding and policies are named here, not scattered.
KOPILKA: dict[str, Any] = {
    "TIME_ZONE": os.environ.get("KOPILKA_TIME_ZONE", "Europe/Moscow"),
    # "category_fifo": promo lots first, then base, FIFO within each (the seeds' rule); "soonest_expiring".
    "REDEMPTION_ORDER": os.environ.get("KOPILKA_REDEMPTION_ORDER", "category_fifo"),
    # What a reversal does when the points it takes back were already spent:
    # "negative" (the balance goes below zero), "take_available" (take what is left), "block" (refuse).
    "RETURN_POLICY": os.environ.get("KOPILKA_RETURN_POLICY", "take_available"),
    "DEFAULT_LOT_LIFETIME_DAYS": int(os.environ.get("KOPILKA_DEFAULT_LOT_LIFETIME_DAYS", "365")),
    "HOLD_TTL_SECONDS": int(os.environ.get("KOPILKA_HOLD_TTL_SECONDS", "900")),
    # How long the first answer to an API write is kept for replays with its idempotency key: longer than a till's
    # offline buffer may hold a receipt (BACKDATING_DAYS), after which the record is deleted.
    "IDEMPOTENCY_DAYS": int(os.environ.get("KOPILKA_IDEMPOTENCY_DAYS", "45")),
    # How long outbox events and webhook deliveries are kept once every reader is done with them (delivered,
    # failed for good, passed by the notices' and journeys' cursors); the message log is kept for good.
    "OUTBOX_DAYS": int(os.environ.get("KOPILKA_OUTBOX_DAYS", "90")),
    "MAX_POINTS_PER_OPERATION": int(os.environ.get("KOPILKA_MAX_POINTS_PER_OPERATION", "100000000")),
    "NIGHTLY_EXPIRY_AT": os.environ.get("KOPILKA_NIGHTLY_EXPIRY_AT", "03:00"),
    # The most of a receipt that points may pay, in percent (campaign rules may narrow it for their points).
    "RECEIPT_CAP_PERCENT": os.environ.get("KOPILKA_RECEIPT_CAP_PERCENT", "30"),
    # The most of one line's amount that points may pay, in percent, on every receipt ("" = no such cap).
    "LINE_CAP_PERCENT": os.environ.get("KOPILKA_LINE_CAP_PERCENT", "") or None,
    # How many days back a receipt may be dated (a till's offline buffer); it is judged by the campaigns then in force.
    "BACKDATING_DAYS": int(os.environ.get("KOPILKA_BACKDATING_DAYS", "30")),
    # The redemption shop (partner products bought with points): what a point pays there and the most of a line.
    "PARTNER_POINT_VALUE": os.environ.get("KOPILKA_PARTNER_POINT_VALUE", "1"),
    "PARTNER_CAP_PERCENT": os.environ.get("KOPILKA_PARTNER_CAP_PERCENT", "100"),
    # The programme's global control group, percent of the members (0: none): rotated monthly, it gets no marketing
    # message and no promo offer (kopilka.core.holdout).
    "CONTROL_GROUP_PERCENT": os.environ.get("KOPILKA_CONTROL_GROUP_PERCENT", "0"),
    # What one point pays, in roubles, where no campaign's rule says otherwise.
    "POINT_VALUE": os.environ.get("KOPILKA_POINT_VALUE", "1"),
    # Messages to members: marketing ones wait out the quiet hours in the member's time zone ("00:00-00:00":
    # none); a member gets at most MARKETING_CAP_MESSAGES of them per channel in MARKETING_CAP_DAYS days.
    "QUIET_HOURS": os.environ.get("KOPILKA_QUIET_HOURS", "21:00-09:00"),
    "MARKETING_CAP_MESSAGES": int(os.environ.get("KOPILKA_MARKETING_CAP_MESSAGES", "3")),
    "MARKETING_CAP_DAYS": int(os.environ.get("KOPILKA_MARKETING_CAP_DAYS", "7")),
    # Where members reach the platform from outside (unsubscribe links, providers' delivery reports), e.g.
    # https://bonus.example.ru; without it no marketing e-mail is sent.
    "PUBLIC_URL": os.environ.get("KOPILKA_PUBLIC_URL", "").strip().rstrip("/"),
    # When members fall to the tier they qualify for: at the start of every "month", "quarter" or "year".
    "TIER_REVIEW": os.environ.get("KOPILKA_TIER_REVIEW", "month"),
    # Lifecycle stages of a member, in days (see kopilka.campaigns.conditions.LifecycleThresholds).
    "LIFECYCLE_DAYS": {
        "new": int(os.environ.get("KOPILKA_LIFECYCLE_NEW_DAYS", "30")),
        "active": int(os.environ.get("KOPILKA_LIFECYCLE_ACTIVE_DAYS", "90")),
        "lapsed": int(os.environ.get("KOPILKA_LIFECYCLE_LAPSED_DAYS", "180")),
    },
}
