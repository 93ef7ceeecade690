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
SECRET_KEY = env(
    "DJANGO_SECRET_KEY",
    default="django-insecure-local-development-key-change-me-in-production",
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
    "django_celery_beat",
    "videos",
    "recommender",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
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
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "recsite.wsgi.application"

# DATABASE_URL, e.g. postgres://user:pass@host:5432/name; default: an SQLite file in var/.
VAR_DIR = Path(env("VAR_DIR", default=str(BASE_DIR / "var")))
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
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
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = env("DJANGO_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

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
# predict_matrix refuses to print more cells than this.
PREDICT_MATRIX_MAX_CELLS = env.int("PREDICT_MATRIX_MAX_CELLS", default=10_000)
# A video watched at least this far counts as finished and is never recommended again.
FINISHED_COMPLETION = env.float("FINISHED_COMPLETION", default=0.9)
