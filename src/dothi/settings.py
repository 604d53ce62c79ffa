"""Settings: every value comes from the environment (see `.env.example`).

Capability is configured here; policy that differs between cities lives in the database (`City.settings`).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("DOTHI_DATA_DIR", "var")).resolve()


def env(name: str, default: str = "") -> str:
    return os.environ.get(f"DOTHI_{name}", default)


def env_bool(name: str, default: bool = False) -> bool:
    return env(name, "1" if default else "0").lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG")
# The demo and tests run without a configured secret; `dothi check-deploy` refuses these defaults.
INSECURE_DEFAULT_SECRET = "dothi-insecure-development-secret-change-me-0123456789abcdef"
SECRET_KEY = env("SECRET_KEY", INSECURE_DEFAULT_SECRET)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# Field encryption: comma-separated Fernet keys, the first encrypts, all decrypt (rotation).
INSECURE_DEFAULT_FIELD_KEY = "ZG90aGktaW5zZWN1cmUtZGVtby1maWVsZC1rZXktMDA="
FIELD_KEYS = env_list("FIELD_KEY", INSECURE_DEFAULT_FIELD_KEY)
# Keyed hash for looking up encrypted identifiers; never rotated in place (see docs/security.md).
INSECURE_DEFAULT_LOOKUP_KEY = "dothi-insecure-demo-lookup-key"
LOOKUP_KEY = env("LOOKUP_KEY", INSECURE_DEFAULT_LOOKUP_KEY)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",  # serves Swagger UI from its static files (without it, ninja loads it from a CDN, inline)
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_tasks",
    "django_tasks_db",
    "js_lib_leaflet",
    "js_lib_bootstrap5",
    "dothi.core",
    "dothi.identity",
    "dothi.reports",
    "dothi.appointments",
    "dothi.sensing",
    "dothi.alerts",
    "dothi.layers",
    "dothi.ioc",
    "dothi.programme",
    "dothi.kpis",
    "dothi.surveys",
    "dothi.web",
]
INSTALLED_APPS += env_list("EXTRA_APPS")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "dothi.core.middleware.SecurityHeadersMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "dothi.core.middleware.CityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "dothi.core.middleware.CityLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "dothi.urls"
WSGI_APPLICATION = None
ASGI_APPLICATION = "dothi.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dothi.web.context_processors.platform",
            ],
        },
    }
]

DATA_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'dothi.sqlite3'}", conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server, the worker and the scheduler share one file; IMMEDIATE avoids
    # "database is locked" upgrades from read to write locks under concurrency.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif env_bool("DB_POOL", True):
    # ASGI serves each request from a thread of its own: persistent per-thread connections would pile
    # up to PostgreSQL's connection limit under load. A bounded pool per worker process instead.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "pool": {"min_size": 1, "max_size": int(env("DB_POOL_MAX", "10")), "timeout": 10}
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Rate limits and other shared state live in a cache every worker sees: the database by default,
# Redis when DOTHI_REDIS_URL is set.
if env("REDIS_URL"):
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": env("REDIS_URL")}
    }
    # Sessions are read from Redis and written through to the database, which stays their record.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    # Django's default of 300 rows would cull rate-limit counters (and with them the limits) as soon
    # as a few hundred people write in the same hour.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "dothi_cache",
            "OPTIONS": {"MAX_ENTRIES": 200_000},
        }
    }
RATELIMIT_USE_CACHE = "default"
RATELIMIT_VIEW = "dothi.core.views.ratelimited"

AUTH_USER_MODEL = "identity.User"
AUTHENTICATION_BACKENDS = ["dothi.identity.backends.CachedModelBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "identity:signin"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:home"
SESSION_COOKIE_AGE = 60 * 60 * 24 * 14
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", _("Vietnamese")), ("en", _("English"))]
LANGUAGE_COOKIE_NAME = "dothi_language"
USE_I18N = True
USE_TZ = True
# Django's Vietnamese formats give "." as the thousands separator but no grouping size: amounts in đồng
# read 166.700.000.000 where a template asks for grouping (floatformat "0g").
NUMBER_GROUPING = 3
TIME_ZONE = "Asia/Ho_Chi_Minh"

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)


def _markercluster_dir() -> str:
    # xstatic ships Leaflet.markercluster as a data folder, not a Django app: serve it under a prefix.
    import xstatic.pkg.leaflet_markercluster as markercluster

    return markercluster.BASE_DIR


def _uplot_dir() -> str:
    # uPlot (time-series charts) comes with the `youplot` package as two vendored files, served under a
    # prefix: static "uplot/uplot.iife.min.js" and "uplot/uplot.min.css".
    import youplot.vendor

    return os.path.dirname(youplot.vendor.__file__)


STATICFILES_DIRS = [("markercluster", _markercluster_dir()), ("uplot", _uplot_dir())]
MEDIA_URL = "/media/"
MEDIA_ROOT = DATA_DIR / "media"
# Largest photo or evidence file a report accepts (bytes); images are re-encoded without EXIF.
REPORT_PHOTO_MAX_BYTES = int(env("REPORT_PHOTO_MAX_BYTES", str(8 * 1024 * 1024)))
# Finders let the demo serve assets straight from installed packages without collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Security baseline (docs/security.md). HTTPS settings switch on behind TLS.
SECURE_HTTPS = env_bool("HTTPS")
SESSION_COOKIE_SECURE = SECURE_HTTPS
CSRF_COOKIE_SECURE = SECURE_HTTPS
SECURE_SSL_REDIRECT = SECURE_HTTPS
SECURE_HSTS_SECONDS = 31536000 if SECURE_HTTPS else 0
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if SECURE_HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

TILE_URL = env("TILE_URL")  # empty: the map draws only the platform's own GeoJSON layers
_tile = urlsplit(TILE_URL.replace("{s}", "a"))
_tile_origin = [f"{_tile.scheme}://{_tile.netloc.replace('a.', '*.', 1)}"] if TILE_URL else []
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", *_tile_origin],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "manifest-src": ["'self'"],
        "worker-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# Background work: django-tasks with its database backend; the demo and `dothi serve` run a worker.
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend"
        if not env_bool("TASKS_IMMEDIATE")
        else "django_tasks.backends.immediate.ImmediateBackend",
    }
}

# Pluggable strategies, chosen by dotted path (see dothi.core.registry).
OTP_SENDER = env("OTP_SENDER", "console")
SMS_GATEWAY_URL = env("SMS_GATEWAY_URL")
SMS_GATEWAY_TOKEN = env("SMS_GATEWAY_TOKEN")
IDENTITY_VERIFIERS = env_list("IDENTITY_VERIFIERS", "format")
OTP_TTL_SECONDS = int(env("OTP_TTL_SECONDS", "300"))
OTP_MAX_ATTEMPTS = int(env("OTP_MAX_ATTEMPTS", "5"))
OTP_LOCKOUT_SECONDS = int(env("OTP_LOCKOUT_SECONDS", "900"))
OTP_SENDS_PER_HOUR = int(env("OTP_SENDS_PER_HOUR", "5"))
OTP_STARTS_PER_IP_PER_HOUR = int(env("OTP_STARTS_PER_IP_PER_HOUR", "30"))  # sign-up/sign-in starts per IP

EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = int(env("EMAIL_PORT", "25"))
DEFAULT_FROM_EMAIL = env("FROM_EMAIL", "dothi@localhost")

# Notification deliveries that fail are retried with back-off: base, 2×base, 4×base seconds.
NOTIFY_RETRY_BASE_SECONDS = int(env("NOTIFY_RETRY_BASE_SECONDS", "60"))

# Public base URL for links sent outside a request (e-mails to agencies, photos sent to their systems),
# e.g. https://dothi.example.vn; a city with host names uses its first host instead.
SITE_URL = env("SITE_URL")
# Dispatch to agencies (e-mail, their Open311 systems): retry back-off base and HTTP timeout.
DISPATCH_RETRY_BASE_SECONDS = int(env("DISPATCH_RETRY_BASE_SECONDS", "60"))
DISPATCH_TIMEOUT_SECONDS = float(env("DISPATCH_TIMEOUT_SECONDS", "10"))

# The MQTT broker `dothi ingest-mqtt` subscribes to (mqtt://user:password@host:1883, mqtts:// for TLS);
# `dothi serve`/`dothi demo` start the ingester only when DOTHI_MQTT_URL is set. The client id names the
# broker's persistent session: fixed per deployment, one per ingester (see docs/deployment.md).
MQTT_URL = env("MQTT_URL", "mqtt://127.0.0.1:1883")
MQTT_CLIENT_ID = env("MQTT_CLIENT_ID", "dothi-ingest")
MQTT_TOPIC_PREFIX = env("MQTT_TOPIC_PREFIX", "dothi")
# Several ingesters (distinct client ids) share the stream when they name the same group (MQTT 5 shared
# subscriptions); empty: one ingester takes every message.
MQTT_SHARE_GROUP = env("MQTT_SHARE_GROUP")
DEFAULT_CITY = env("DEFAULT_CITY")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"django.server": {"level": "WARNING"}},
}
