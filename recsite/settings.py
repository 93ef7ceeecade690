"""Settings for the video recommender site.

Every value that differs between a laptop and production is read from the environment (or a
``.env`` file beside ``manage.py``) in this one place. The defaults give a zero-setup local site
(an SQLite file, Celery tasks run eagerly in-process) that is secure by default: DEBUG is off and
HTTPS is required unless DJANGO_DEBUG=1 asks for the development mode.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def _positive_int(name: str, default: int) -> int:
    value = env.int(name, default=default)
    if value < 1:
        raise ImproperlyConfigured(f"{name} must be at least 1.")
    return value


# Secure by default: DEBUG (tracebacks, the development key, plain-HTTP cookies) only when asked for
# with DJANGO_DEBUG=1; `make run`, `make demo` and the test suite (pyproject.toml) ask for it.
DEBUG = env.bool("DJANGO_DEBUG", default=False)
_INSECURE_KEY = "django-insecure-local-development-key-change-me-in-production"
# Never accepted in production: the development key and the placeholder of .env.example.
_REFUSED_KEYS = {_INSECURE_KEY, "change-me-to-a-long-random-string"}
SECRET_KEY = env("DJANGO_SECRET_KEY", default=_INSECURE_KEY)
if not DEBUG and SECRET_KEY in _REFUSED_KEYS:
    raise ImproperlyConfigured(
        "Set DJANGO_SECRET_KEY to a long random string (python -c 'import secrets; print(secrets.token_urlsafe(50))'): "
        "the development key and the placeholder of .env.example are refused unless DJANGO_DEBUG=1."
    )
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "csp",
    "django_celery_beat",
    "videos",
    "recommender",
    "accounts",
    # Failed log-ins counted in the database (see "Login protection" below).
    "axes",
    # REST API
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "recsite.csp.CSPMiddleware",  # django-csp's, with the fixed policy built once
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Early: NUL characters, lone surrogates and non-UTF-8 escapes in the path, query string, form
    # fields or headers get a readable 400 before sessions, CSRF, views or the database see them.
    "recsite.middleware.HostileInputMiddleware",
    # Below WhiteNoise (which serves its own pre-compressed static files): compresses pages and API
    # JSON. Django's GZipMiddleware pads each response randomly against BREACH.
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Language from the switcher's cookie, else the browser's Accept-Language (see LANGUAGES below).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a request that hit the log-in lockout into the 429 answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "recsite.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "recsite.wsgi.application"

# DATABASE_URL, e.g. postgres://user:pass@host:5432/name; default: an SQLite file in var/.
VAR_DIR = Path(env("VAR_DIR", default=str(BASE_DIR / "var")))
DATABASE_URL = env("DATABASE_URL", default="") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=0))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets the site read while a retrain writes; a busy timeout avoids "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    # Django's rule; the subclass only adds the Chinese message Django's catalog lacks.
    {"NAME": "accounts.validators.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = env("DJANGO_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Site languages ---------------------------------------------------------------------------
# English and Simplified Chinese; translations live in locale/ (compiled .mo files are committed).
LANGUAGES = [
    ("en", "English"),
    ("zh-hans", "简体中文"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "language"
LANGUAGE_COOKIE_SAMESITE = "Lax"

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
# Without DEBUG, static files are served by WhiteNoise from STATIC_ROOT (`manage.py collectstatic`
# first): names carry a content hash (cached for a year) and gzip/Brotli copies are pre-built.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "recsite.storage.ManifestStaticStorage"  # WhiteNoise's, each URL looked up once
        )
    },
}

# --- Security ---------------------------------------------------------------------------------
# With DEBUG off everything below is on; each relaxation must be asked for in the environment.
# Behind a TLS proxy the site sees plain HTTP: name the header the proxy sets (only the proxy may
# set it), e.g. DJANGO_SECURE_PROXY_SSL_HEADER=X-Forwarded-Proto (the value meaning HTTPS: "https").
_proxy_header = env("DJANGO_SECURE_PROXY_SSL_HEADER", default="").strip()
if _proxy_header:
    _proxy_meta = _proxy_header.upper().replace("-", "_")
    SECURE_PROXY_SSL_HEADER = (_proxy_meta if _proxy_meta.startswith("HTTP_") else f"HTTP_{_proxy_meta}", "https")
# Plain-HTTP requests are redirected to HTTPS, except the health checks (a load balancer or
# container probe speaks plain HTTP to the process itself).
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
# HSTS: browsers use only HTTPS for this host for that long (one year). Subdomains and the browsers'
# preload list are opt-in: both bind every other host of the domain and are slow to undo.
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
# `check --deploy` reminds of the two opt-ins above; leaving them off is a deliberate default.
SILENCED_SYSTEM_CHECKS = [
    *([] if SECURE_HSTS_INCLUDE_SUBDOMAINS else ["security.W005"]),
    *([] if SECURE_HSTS_PRELOAD else ["security.W021"]),
]
# Cookies: HTTPS only (DJANGO_SECURE_COOKIES=false only for a plain-HTTP stack on one's own
# machine), invisible to JavaScript, not sent with cross-site subrequests. The site's scripts take
# the CSRF token from the page, never from the cookie.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = LANGUAGE_COOKIE_SECURE = env.bool(
    "DJANGO_SECURE_COOKIES", default=not DEBUG
)
SESSION_COOKIE_HTTPONLY = CSRF_COOKIE_HTTPONLY = LANGUAGE_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"
# Database sessions (Django's table and rules), read with one hand-written query: recsite/sessions.py.
SESSION_ENGINE = "recsite.sessions"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp), enforced in every mode so that development and the browser
# tests meet the production policy: scripts, styles and fonts only from this site, no inline script
# or style. Only the API docs pages widen it, for what their third-party UIs need (api/docs.py).
# Video files and thumbnails may live elsewhere: list those origins in CSP_MEDIA_SOURCES.
CSP_MEDIA_SOURCES = env.list("CSP_MEDIA_SOURCES", default=[])
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "font-src": ["'self'"],
        "img-src": ["'self'", *CSP_MEDIA_SOURCES],
        "media-src": ["'self'", *CSP_MEDIA_SOURCES],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- Health -----------------------------------------------------------------------------------
# /readyz reports "stale" (503) when the active model was published longer ago than this many hours
# (0: any age is fine; a quiet site may rightly keep an old model).
READYZ_MODEL_MAX_AGE_HOURS = env.int("READYZ_MODEL_MAX_AGE_HOURS", default=0)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "recommended"
LOGOUT_REDIRECT_URL = "home"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Celery -----------------------------------------------------------------------------------
# REDIS_URL unset: no broker, tasks run eagerly in the calling process (zero-setup default).
REDIS_URL = env("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_RESULT_EXPIRES = 7 * 24 * 3600
# Crash safety: a task is acknowledged only after it finished, and handed to another worker if the
# process running it dies; a worker reserves one task at a time.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Time limits of one retrain (seconds): soft raises inside the task, hard kills the process.
RETRAIN_SOFT_TIME_LIMIT = env.int("RETRAIN_SOFT_TIME_LIMIT", default=3 * 3600)
RETRAIN_TIME_LIMIT = env.int("RETRAIN_TIME_LIMIT", default=RETRAIN_SOFT_TIME_LIMIT + 600)
# Redis re-delivers an unacknowledged task after visibility_timeout: keep it above the hard limit
# so a long retrain is never started twice.
# Every Redis client has short timeouts (seconds), so a Redis that refuses connections or accepts
# and never answers costs a web request about a second, never a gunicorn timeout: the broker
# connection and its sockets, the publish retry policy (one quick retry) and the result backend.
REDIS_CONNECT_TIMEOUT = env.float("REDIS_CONNECT_TIMEOUT", default=0.5)
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=0.5)
CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_CONNECT_TIMEOUT
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": RETRAIN_TIME_LIMIT + 600,
    "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
    "socket_timeout": REDIS_SOCKET_TIMEOUT,
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.1,
    "interval_max": 0.1,
}
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.1}
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = REDIS_CONNECT_TIMEOUT
CELERY_REDIS_SOCKET_TIMEOUT = REDIS_SOCKET_TIMEOUT
# Only workers (and scripts waiting for a result) use the result backend: the web process queues
# retrains without a result subscription. A few quick retries let a worker ride out a Redis blip.
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {
    "retry_policy": {"max_retries": 3, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
}
# A retrain request creates a "queued" model version and hands it to a worker (with a broker) or
# to a separate `manage.py retrain` process (without one); the web process never trains. A queued
# version not picked up within RETRAIN_QUEUED_TIMEOUT seconds is failed (its task message expires
# then too); a separate process picks its version up within seconds. Those processes log to files
# in RETRAIN_LOG_DIR.
RETRAIN_QUEUED_TIMEOUT = env.int("RETRAIN_QUEUED_TIMEOUT", default=3600 if REDIS_URL else 120)
RETRAIN_LOG_DIR = Path(env("RETRAIN_LOG_DIR", default=str(VAR_DIR / "logs")))
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {"recommender.tasks.retrain_task": {"queue": "training"}}
# Retrain every RETRAIN_INTERVAL_MINUTES; skipped when no event arrived since the active version.
RETRAIN_INTERVAL_MINUTES = env.int("RETRAIN_INTERVAL_MINUTES", default=60)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "retrain-recommender": {
        "task": "recommender.tasks.retrain_task",
        "schedule": RETRAIN_INTERVAL_MINUTES * 60.0,
        "kwargs": {"triggered_by": "beat"},
        "options": {"queue": "training", "expires": RETRAIN_INTERVAL_MINUTES * 60.0},
    },
}
# With a broker, also queue a retrain each time this many events arrived since the active version
# (0 = only the schedule retrains).
RETRAIN_AFTER_NEW_EVENTS = env.int("RETRAIN_AFTER_NEW_EVENTS", default=1000)
# Scoring + writing a new version can be split into this many user-range shards, run as Celery
# tasks across workers (1 = score in the retrain task itself).
SCORING_SHARDS = env.int("SCORING_SHARDS", default=1)

# --- Recommender ------------------------------------------------------------------------------
# Where trained model artifacts live (one sub-folder per model version).
MODEL_DIR = Path(env("MODEL_DIR", default=str(VAR_DIR / "models")))
# How many recommendations are stored per user for each model version.
RECOMMENDATIONS_TOP_N = env.int("RECOMMENDATIONS_TOP_N", default=50)
# Several events for one (user, video) pair become one matrix cell: "max" (default: the furthest
# the viewer ever got), "last" (the most recent watch) or "mean".
WATCH_AGGREGATE = env("WATCH_AGGREGATE", default="max")
# Objective used by a retrain when none is given ("completion" or "expected_completion").
RECOMMENDER_OBJECTIVE = env("RECOMMENDER_OBJECTIVE", default="expected_completion")
# Inactive versions whose recommendation rows are kept for an instant rollback (older ones are
# pruned after each publish so the table does not grow without bound).
RECOMMENDATION_VERSIONS_KEPT = env.int("RECOMMENDATION_VERSIONS_KEPT", default=5)
# Of those, the newest this many also keep their prepared feeds (ready-to-send JSON, several KB per
# viewer and language); an older one rolled back to is served from its rows until `prepare_feeds`.
PREPARED_FEED_VERSIONS_KEPT = env.int("PREPARED_FEED_VERSIONS_KEPT", default=1)
# predict_matrix refuses to print more cells than this.
PREDICT_MATRIX_MAX_CELLS = env.int("PREDICT_MATRIX_MAX_CELLS", default=10_000)
# A video watched at least this far counts as finished and is never recommended again.
FINISHED_COMPLETION = env.float("FINISHED_COMPLETION", default=0.9)

# --- Model quality and scale: evaluation, refit, large data, promotion gate ---------------------
from recsite.settings_model import *  # noqa: E402, F403

# --- Login protection -------------------------------------------------------------------------
# Failed password checks (site log-in, admin log-in, API token endpoint) are counted in the
# database by django-axes, so the limits hold across every web worker and while Redis is down.
# Within a sliding cool-off window, LOGIN_FAILURE_LIMIT failures for one account from one client
# address lock that account out from that address, and LOGIN_FAILURE_LIMIT_PER_IP failures from
# one address (any accounts; higher, so that people behind one proxy do not lock each other out)
# lock the address out. While locked out even the right password is refused (HTTP 429). The client
# address honours API_NUM_PROXIES exactly as the API's rate limits do. Unlock: docs/operations.md.
AUTHENTICATION_BACKENDS = [
    "accounts.lockout.LoginLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "accounts.lockout.LoginLockoutHandler"
AXES_FAILURE_LIMIT = _positive_int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_FAILURE_LIMIT_PER_IP = _positive_int("LOGIN_FAILURE_LIMIT_PER_IP", default=50)
LOGIN_COOLOFF_MINUTES = _positive_int("LOGIN_COOLOFF_MINUTES", default=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_CLIENT_IP_CALLABLE = "accounts.lockout.client_ip"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
# A successful log-in forgets that account's failures from that address (only those).
AXES_RESET_ON_SUCCESS = True
# Only failures are stored (every successful log-in would otherwise add a row forever).
AXES_DISABLE_ACCESS_LOG = True
# Stored attempts keep the submitted form fields; these are masked (the password always is).
AXES_SENSITIVE_PARAMETERS = ["csrfmiddlewaretoken"]
# No start-up banner: every manage.py command would print it (lockouts are still logged).
AXES_VERBOSE = False
# Sign-up form submissions per client address within SIGNUP_LIMIT_WINDOW_MINUTES (in the database).
SIGNUP_LIMIT_PER_IP = _positive_int("SIGNUP_LIMIT_PER_IP", default=10)
SIGNUP_LIMIT_WINDOW_MINUTES = _positive_int("SIGNUP_LIMIT_WINDOW_MINUTES", default=60)
# API tokens stop working this many days after they were issued (0: no expiry); a password
# change always revokes them.
API_TOKEN_TTL_DAYS = env.int("API_TOKEN_TTL_DAYS", default=0)
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_COOLOFF_MINUTES)

# --- REST API ---------------------------------------------------------------------------------
# Token (API clients) and session (the site's own JavaScript) authentication; authenticated by
# default; JSON only; strict pagination; every error is {"detail", "code"[, "errors"]}.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an anonymous request gets 401 with "WWW-Authenticate: Token".
        "api.authentication.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.BoundedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.StrictPageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "api.schema.ApiAutoSchema",
    "EXCEPTION_HANDLER": "api.exceptions.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["api.throttles.AnonThrottle", "api.throttles.UserThrottle"],
    # Rates as "<number>/<second|minute|hour|day>": anonymous clients per IP, users per account,
    # watch-event writes per account (tighter), password checks for a token per IP.
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("API_THROTTLE_ANON", default="60/minute"),
        "user": env("API_THROTTLE_USER", default="1200/minute"),
        "events": env("API_THROTTLE_EVENTS", default="300/minute"),
        "auth": env("API_THROTTLE_AUTH", default="10/minute"),
    },
    # Proxies in front of the site that append to X-Forwarded-For (0: use the peer address, which
    # a client cannot forge).
    "NUM_PROXIES": env.int("API_NUM_PROXIES", default=0),
    "LIST_SERIALIZER_ERRORS_AS_DICT": True,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
# The OpenAPI schema and the API docs pages (Swagger UI, ReDoc): api/openapi_settings.py.
from api.openapi_settings import SPECTACULAR_SETTINGS  # noqa: E402, F401

# Request bodies above this size are refused (413 in the API); Django's default, 2.5 MB.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)
# The cache holds API rate-limit counters (and short-lived read caches). In Redis when REDIS_URL
# is set, so that limits hold across processes; a Redis outage must not break the site: a failed
# cache call reads as a miss (requests then pass unthrottled), is logged in one line at most once
# a minute, and for CACHE_FAILURE_BACKOFF seconds after it the process does not wait on Redis at all
# (recsite/cache.py). Without Redis: per-process memory.
CACHE_URL = env("CACHE_URL", default=REDIS_URL)
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "recsite.cache.ResilientRedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "recsite",
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": REDIS_CONNECT_TIMEOUT,
                "SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT,
                "FAILURE_BACKOFF": env.float("CACHE_FAILURE_BACKOFF", default=10.0),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "recsite"}}
