"""Settings for the video recommender site.

Every value that differs between a laptop and production is read from the environment (or a
``.env`` file beside ``manage.py``) in this one place. The defaults give a zero-setup local site:
an SQLite file, Celery tasks run eagerly in-process, DEBUG on.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=True)
_INSECURE_KEY = "django-insecure-local-development-key-change-me-in-production"
SECRET_KEY = env("DJANGO_SECRET_KEY", default=_INSECURE_KEY)
if not DEBUG and SECRET_KEY == _INSECURE_KEY:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("Set DJANGO_SECRET_KEY: the development key must not be used with DJANGO_DEBUG=false.")
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
    "django_celery_beat",
    "videos",
    "recommender",
    "accounts",
    # REST API (issue 5)
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Language from the switcher's cookie, else the browser's Accept-Language (see LANGUAGES below).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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

# --- Site languages (website issue) -----------------------------------------------------------
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
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
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
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": RETRAIN_TIME_LIMIT + 600}
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
# predict_matrix refuses to print more cells than this.
PREDICT_MATRIX_MAX_CELLS = env.int("PREDICT_MATRIX_MAX_CELLS", default=10_000)
# A video watched at least this far counts as finished and is never recommended again.
FINISHED_COMPLETION = env.float("FINISHED_COMPLETION", default=0.9)

# --- Model quality: evaluation and promotion gate (issue 6) -----------------------------------
# Every retrain holds out each viewer's latest watch (ranked against RECOMMENDER_EVAL_NEGATIVES
# videos they never watched: HR@10, NDCG@10) and a random RECOMMENDER_EVAL_HOLDOUT_FRACTION of
# their other watches (RMSE, MAE), trains on the rest and records the figures on the version.
RECOMMENDER_EVALUATE = env.bool("RECOMMENDER_EVALUATE", default=True)
# Below this many viewers a retrain skips the held-out evaluation (its figures would be noise).
RECOMMENDER_EVAL_MIN_USERS = env.int("RECOMMENDER_EVAL_MIN_USERS", default=20)
RECOMMENDER_EVAL_HOLDOUT_FRACTION = env.float("RECOMMENDER_EVAL_HOLDOUT_FRACTION", default=0.1)
RECOMMENDER_EVAL_NEGATIVES = env.int("RECOMMENDER_EVAL_NEGATIVES", default=99)
# At most this many viewers are ranked (a seeded sample), which bounds the cost on large data.
RECOMMENDER_EVAL_MAX_USERS = env.int("RECOMMENDER_EVAL_MAX_USERS", default=20_000)
# true: after the evaluation the published model is trained again on all watches (for the epochs
# the evaluated one needed); false: the evaluated model (which never saw the held-out watches) is
# published, one training instead of two.
RECOMMENDER_REFIT = env.bool("RECOMMENDER_REFIT", default=True)
# Promotion gate: a new version replaces the active one only if its scores are finite, at least
# RECOMMENDER_GATE_MIN_USER_SHARE of its viewers got recommendations, and RECOMMENDER_GATE_METRIC
# (ndcg_at_10, hr_at_10, rmse or mae) is not worse than the active version's by more than
# RECOMMENDER_GATE_TOLERANCE (relative). The metric is compared only when both versions were
# evaluated on at least RECOMMENDER_GATE_MIN_EVAL_USERS viewers. Otherwise: status "rejected".
RECOMMENDER_GATE_METRIC = env("RECOMMENDER_GATE_METRIC", default="ndcg_at_10")
RECOMMENDER_GATE_TOLERANCE = env.float("RECOMMENDER_GATE_TOLERANCE", default=0.05)
RECOMMENDER_GATE_MIN_EVAL_USERS = env.int("RECOMMENDER_GATE_MIN_EVAL_USERS", default=100)
RECOMMENDER_GATE_MIN_USER_SHARE = env.float("RECOMMENDER_GATE_MIN_USER_SHARE", default=0.9)


# --- REST API (issue 5) -----------------------------------------------------------------------
# Token (API clients) and session (the site's own JavaScript) authentication; authenticated by
# default; JSON only; strict pagination; every error is {"detail", "code"[, "errors"]}.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an anonymous request gets 401 with "WWW-Authenticate: Token".
        "rest_framework.authentication.TokenAuthentication",
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
SPECTACULAR_SETTINGS = {
    "TITLE": "Video Recommender API",
    "DESCRIPTION": (
        "Record watch events and read recommendations as the authenticated user; staff can follow "
        "and trigger model training. Authenticate with `Authorization: Token <token>` (POST "
        "/api/auth/token/) or the site's session cookie."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/",
    # Swagger UI and ReDoc are served from this site (drf-spectacular-sidecar), never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "ModelVersionStatusEnum": "recommender.models.ModelVersion.Status",
        "WatchEventSourceEnum": "videos.models.WatchEvent.Source",
        "RecommendationSourceEnum": "api.serializers.RECOMMENDATION_SOURCES",
    },
}
# Request bodies above this size are refused (413 in the API); Django's default, 2.5 MB.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)
# The cache holds API rate-limit counters (and short-lived read caches). In Redis when REDIS_URL
# is set, so that limits hold across processes; a Redis outage must not break the site, so cache
# errors are logged and read as a miss (requests then pass unthrottled). Without Redis: per-process memory.
CACHE_URL = env("CACHE_URL", default=REDIS_URL)
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "recsite",
            "OPTIONS": {
                "IGNORE_EXCEPTIONS": True,
                "SOCKET_CONNECT_TIMEOUT": 0.5,
                "SOCKET_TIMEOUT": 0.5,
            },
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "recsite"}}
