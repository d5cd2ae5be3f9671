"""Coding Bench settings. Every value comes from the environment (see .env.example).

The defaults are the embedded ones: SQLite and a file-system Celery broker, so that
`make run` needs no server. DEBUG off means production, with no other switch.
"""

from pathlib import Path

import dj_database_url

from coding_bench.env import ConfigError, env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("CODING_BENCH_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)

_INSECURE_KEY = "insecure-development-key-never-use-in-production"
SECRET_KEY = env_str("SECRET_KEY", _INSECURE_KEY if DEBUG else "")
if not DEBUG and (len(SECRET_KEY) < 50 or SECRET_KEY == _INSECURE_KEY):
    raise ConfigError(
        "SECRET_KEY must be set to at least 50 random characters when DEBUG is off "
        "(production). For local work set DEBUG=1."
    )

# Keys for the PHI encrypted at rest (django-fernet-encrypted-fields derives each Fernet key
# from SECRET_KEY and one of these). The first encrypts; all decrypt, so a new key goes first
# and `python manage.py phi rotate-keys` re-encrypts every row with it.
SALT_KEY = env_list("PHI_ENCRYPTION_KEYS", ["development-phi-key"] if DEBUG else [])
if not DEBUG and not SALT_KEY:
    raise ConfigError(
        "PHI_ENCRYPTION_KEYS must be set when DEBUG is off (production): one or more random "
        "strings, comma-separated, newest first."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "template_partials",
    # One-time-password devices; "reset MFA" deletes a user's devices (enrolment comes later).
    "django_otp",
    "django_otp.plugins.otp_totp",
    # Single-use recovery codes (issue 7), shown once at enrolment.
    "django_otp.plugins.otp_static",
    # Failed sign-in tracking and lockout per user name and per address (issue 7).
    "axes",
    "accounts",
    "codesets",
    "encounters",
    "audits",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # Idle sign-out, then the second sign-in step (both need the user, before any view).
    "accounts.middleware.SessionIdleMiddleware",
    "accounts.middleware.MFAEnforcementMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A chart outside the user's work answers with the break-the-glass page.
    "encounters.views.break_glass.BreakGlassMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes requires: turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

# django-axes refuses a locked-out user before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 15) / 60  # hours, as axes expects
# Either the same user name or the same address failing too often locks (independently).
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.views.lockout_response"
AXES_ENABLED = env_bool("AXES_ENABLED", True)
# Behind a TLS-terminating proxy the client address is in X-Forwarded-For; only trust it
# when told (AXES_IPWARE_PROXY_COUNT=1), otherwise anyone could pick their own address.
if env_int("AXES_IPWARE_PROXY_COUNT", 0):
    AXES_IPWARE_PROXY_COUNT = env_int("AXES_IPWARE_PROXY_COUNT", 0)
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]

# Roles that must sign in with a second factor (TOTP); others may enrol if they wish.
MFA_REQUIRED_ROLES = env_list("MFA_REQUIRED_ROLES", ["senior", "admin"])
MFA_ISSUER = env_str("MFA_ISSUER", "Coding Bench")
# Not from the environment: only the test suite turns the second step off (tests/conftest.py).
MFA_ENFORCED = True
OTP_TOTP_ISSUER = MFA_ISSUER

ROOT_URLCONF = "coding_bench.urls"
WSGI_APPLICATION = "coding_bench.wsgi.application"

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
                "accounts.context_processors.navigation",
                "audits.context_processors.unread_bulletins",
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'coding_bench.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the Celery worker write an import while the web process reads.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:home"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "America/New_York")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
# Local state (SQLite file, broker queue, cache, collected static) lives under var/.
for _folder in (VAR_DIR, STATIC_ROOT):
    _folder.mkdir(parents=True, exist_ok=True)

# Where CMS reference files live on this machine; absent on a fresh clone elsewhere.
CMS_DATA_DIR = Path(env_str("CMS_DATA_DIR", str(BASE_DIR.parent / "shared" / "data")))
# Uploaded chart documents (text or PDF) larger than this are refused.
DOCUMENT_UPLOAD_MAX_BYTES = env_int("DOCUMENT_UPLOAD_MAX_BYTES", 10 * 1024 * 1024)
# Break the glass: how long a chart opened outside one's work stays open (hours).
BREAK_GLASS_HOURS = env_int("BREAK_GLASS_HOURS", 4)
# Build the code search indexes in the background after a process's first request.
SEARCH_WARM_UP = env_bool("SEARCH_WARM_UP", True)
# Uploaded release files larger than this are refused before anything is written.
RELEASE_UPLOAD_MAX_BYTES = env_int("RELEASE_UPLOAD_MAX_BYTES", 200 * 1024 * 1024)

# Celery: Redis when REDIS_URL is set, otherwise kombu's file-system transport, which needs
# no server and lets `make run` start a real worker beside the web process.
REDIS_URL = env_str("REDIS_URL", "")
CELERY_BROKER_URL = REDIS_URL or "filesystem://"
if not REDIS_URL:
    _broker_dir = VAR_DIR / "celery-broker"
    for _folder in (_broker_dir / "queue", _broker_dir / "processed", _broker_dir / "control"):
        _folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        # Remote-control messages (inspect, ping) would otherwise land in ./control.
        "control_folder": str(_broker_dir / "control"),
    }
else:
    # With acks_late, a task whose worker died unacknowledged goes back to the queue this many
    # seconds after it was delivered; it must exceed the longest import (tests shorten it).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
# Celery beat: releases scheduled for a date are activated by the first run on that date.
CELERY_BEAT_SCHEDULE = {
    "activate-scheduled-releases": {
        "task": "codesets.activate_scheduled_releases",
        "schedule": env_int("RELEASE_ACTIVATION_CHECK_SECONDS", 15 * 60),
    },
    # Each feed has its own interval; this only says how often to look for feeds that are due.
    "check-release-feeds": {
        "task": "codesets.check_release_feeds",
        "schedule": env_int("RELEASE_FEED_CHECK_SECONDS", 30 * 60),
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "coding_bench.api_errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Coding Bench API",
    "DESCRIPTION": "Medical coding workbench: code search, encounters, edits, releases.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Tags (docs sections) from the first path segment after /api/v1: encounters, audits...
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    # Choice sets that share a field name get stable schema names (not hash suffixes).
    "ENUM_NAME_OVERRIDES": {
        "EncounterStatusEnum": "encounters.models.Encounter.Status",
        "QueryStatusEnum": "encounters.models.PhysicianQuery.Status",
        "QueryKindEnum": "encounters.models.PhysicianQuery.Kind",
        "ReviewCategoryEnum": "encounters.models.ReviewComment.Category",
        "ProcedureSystemEnum": "encounters.models.ProcedureAssignment.System",
        "PoaEnum": "encounters.models.DiagnosisAssignment.Poa",
        "AuditPlanStatusEnum": "audits.models.AuditPlan.Status",
        "AuditPlanKindEnum": "audits.models.AuditPlan.Kind",
        "AuditItemStatusEnum": "audits.models.AuditItem.Status",
        "FindingKindEnum": "audits.models.Finding.Kind",
        "FindingCategoryEnum": "audits.models.Finding.Category",
        "FindingSeverityEnum": "audits.models.Finding.Severity",
        "ReleaseStatusEnum": "codesets.models.Release.Status",
        "EditSeverityEnum": ["error", "warning", "info"],
        "DrgSeverityEnum": ["MCC", "CC", "none"],
        "CcMccSeverityEnum": ["MCC", "CC"],
        "RecodeKindEnum": "audits.serializers.RECODE_KINDS",
    },
}

# Invitations and password-reset links go out by email: the console in development.
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Coding Bench <coding-bench@localhost>")
# A set-password link (invitation or reset) works for this long, and only once.
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 3 * 24 * 3600)

# Idle sign-out is enforced by accounts.middleware.SessionIdleMiddleware, so that it can say
# why the user is back at sign-in; the cookie itself lasts a working day at most.
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 15)
SESSION_COOKIE_AGE = env_int("SESSION_MAX_HOURS", 12) * 3600
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Content Security Policy (django-csp): no inline script anywhere (tests/test_no_inline_scripts.py
# keeps templates clean). Styles keep 'unsafe-inline': a few templates set widths with style=
# and htmx adds its indicator style element.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    # Only when a TLS-terminating proxy sets it (SECURE_PROXY_SSL_HEADER=1); trusting the
    # header without such a proxy would let a client claim HTTPS.
    if env_bool("SECURE_PROXY_SSL_HEADER", True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# No PHI in logs: every handler carries the redacting filter (see coding_bench/logging_filters.py);
# Django's own handlers are redefined here so that they carry it too.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "phi": {"()": "coding_bench.logging_filters.PhiRedactingFilter"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "server": {"format": "[{server_time}] {message}", "style": "{"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["phi"]},
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "server",
            "filters": ["phi"],
        },
        "mail_admins": {
            "class": "django.utils.log.AdminEmailHandler",
            "level": "ERROR",
            "filters": ["require_debug_false", "phi"],
        },
    },
    "loggers": {
        "django": {"handlers": ["mail_admins"], "level": "INFO"},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
# Error pages and mailed reports without request data, settings or local variables.
DEFAULT_EXCEPTION_REPORTER_FILTER = "coding_bench.error_reporting.PhiSafeExceptionReporterFilter"
DEFAULT_EXCEPTION_REPORTER = "coding_bench.error_reporting.PhiSafeExceptionReporter"

# The cache carries import progress between processes: Redis when there is one, otherwise
# files on disk (shared by the web process and the embedded worker).
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    if REDIS_URL
    else {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(VAR_DIR / "cache"),
    }
}
