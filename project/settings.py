"""Django settings, built from the one typed configuration object (:mod:`core.config`)."""

from __future__ import annotations

from typing import Any

from core.config import BASE_DIR, CONFIG, Config

SECRET_KEY = CONFIG.server.secret
DEBUG = CONFIG.debug
ALLOWED_HOSTS = ["*"]  # the server is addressed by whatever name the proxy uses; see PUBLIC_URL

INSTALLED_APPS = [
    "web.apps.IdentityAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "oauth2_provider",
    # layers, bottom first: each imports only those above it in this list
    "core",
    "accounts",
    "items",
    "tokens",
    "factors",
    "signin",
    "oauth",
    "lifecycle",
    "api",
    "web",
    "realtime",
    "project.apps.ProjectConfig",
]

MIDDLEWARE = [
    "core.middleware.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "core.security.TransportSecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.CorsMiddleware",
    "core.ratelimit_middleware.RateLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "web.middleware.SessionUserMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "project.urls"
ASGI_APPLICATION = "project.asgi.application"
WSGI_APPLICATION = "project.wsgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # EMAIL_TEMPLATES_PATH first: an operator's mail templates replace the built-in ones.
        "DIRS": [
            *([CONFIG.mail.templates_path] if CONFIG.mail.templates_path else []),
            BASE_DIR / "templates",
        ],
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


def _databases(config: Config) -> dict[str, Any]:
    db = config.database
    if db.client == "sqlite3":
        return {
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": db.filename,
                # Worker threads are reused (project.handler), and so is each one's connection.
                "CONN_MAX_AGE": None,
                "OPTIONS": {
                    "transaction_mode": "IMMEDIATE",
                    "timeout": 20,
                    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                },
            }
        }
    return {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": db.host,
            "PORT": db.port,
            "NAME": db.name,
            "USER": db.user,
            "PASSWORD": db.password,
            # Connections are kept in a psycopg 3 pool shared by the worker's threads.
            "CONN_MAX_AGE": 0,
            "OPTIONS": {
                **db.options,
                "pool": {"min_size": db.pool_min, "max_size": db.pool_max, "timeout": 10},
            },
            "TEST": {"NAME": f"test_{db.name}"},
        }
    }


DATABASES = _databases(CONFIG)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["signin.backends.FlowOnlyBackend"]

# django-allauth: only its MFA models and WebAuthn helpers are used (factors.passkeys); its own
# login, sign-up and account views are not routed, so every sign-in goes through signin.flow.
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
SOCIALACCOUNT_ADAPTER = "signin.drivers.oauth2.SocialAccountAdapter"
MFA_SUPPORTED_TYPES = ["webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = False
# The relying party (PUBLIC_URL's host) and user entity of passkeys.
MFA_ADAPTER = "factors.passkeys.MFAAdapter"

# django-oauth-toolkit: the protocol of the OAuth 2.0 / OpenID provider; the policy is oauth.*
# (a client model with several grants, scopes tied to the access model, the password grant
# through the one sign-in flow, codes and tokens kept as digests only).
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth.Client"
OAUTH2_PROVIDER: dict[str, Any] = {
    "OAUTH2_VALIDATOR_CLASS": "oauth.validator.Validator",
    "SCOPES_BACKEND_CLASS": "oauth.scopes.ClientScopes",
    "ACCESS_TOKEN_GENERATOR": "oauth.generators.access_token",
    "REFRESH_TOKEN_GENERATOR": "oauth.generators.refresh_token",
    "ACCESS_TOKEN_EXPIRE_SECONDS": CONFIG.oauth.access_ttl_s,
    "REFRESH_TOKEN_EXPIRE_SECONDS": CONFIG.oauth.refresh_ttl_s,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": CONFIG.oauth.code_ttl_s,
    "ID_TOKEN_EXPIRE_SECONDS": CONFIG.oauth.id_token_ttl_s,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": CONFIG.oauth.refresh_grace_s,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "PKCE_REQUIRED": True,
    "OIDC_ENABLED": True,
    "OIDC_ISS_ENDPOINT": CONFIG.oauth.issuer or "",
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OIDC_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED": [
        "client_secret_basic",
        "client_secret_post",
        "none",
    ],
    "REQUEST_APPROVAL_PROMPT": "force",
    "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"],
    "ERROR_RESPONSE_WITH_SCOPES": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
}

# Messages a channel may hold before new ones are dropped. Each process reads one channel for
# all of its sockets (realtime.hub), so every item event and log record for the process queues
# there while earlier ones are fanned out: the library default of 100 drops events in a burst.
CHANNEL_CAPACITY = 10_000

if CONFIG.redis:
    CACHES: dict[str, Any] = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CONFIG.redis.url,
            "KEY_PREFIX": "directus",
        }
    }
    CHANNEL_LAYERS: dict[str, Any] = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [CONFIG.redis.url],
                "prefix": "directus:bus",
                "capacity": CHANNEL_CAPACITY,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": CHANNEL_CAPACITY},
        }
    }

# Rate-limit counters and login-attempt counters: shared through Redis with
# RATE_LIMITER_STORE=redis, per process with memory.
if CONFIG.limits.store == "redis" and CONFIG.redis:
    CACHES["ratelimit"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": CONFIG.redis.url,
        "KEY_PREFIX": "directus:rl",
    }
else:
    CACHES["ratelimit"] = {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "ratelimit",
    }

SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_NAME = "directus_admin_session"
CSRF_COOKIE_NAME = "directus_csrftoken"

PASSWORD_HASHERS = [
    "accounts.hashers.ConfiguredArgon2PasswordHasher",
]
# Applied with directus_settings.auth_password_policy wherever a password is set
# (accounts.passwords), never to the bootstrap ADMIN_PASSWORD.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# EMAIL_* (core.config.mail) onto Django's mail settings; core.mail sends off the request thread.
_MAIL = CONFIG.mail
EMAIL_BACKEND = {
    "console": "django.core.mail.backends.console.EmailBackend",
    "smtp": "core.mail.SmtpBackend",
    "sendmail": "core.mail.SendmailBackend",
}[_MAIL.transport]
DEFAULT_FROM_EMAIL = _MAIL.from_address
SERVER_EMAIL = _MAIL.from_address
EMAIL_HOST = _MAIL.smtp.host or "localhost"
EMAIL_PORT = _MAIL.smtp.port
EMAIL_HOST_USER = _MAIL.smtp.user or ""
EMAIL_HOST_PASSWORD = _MAIL.smtp.password or ""
EMAIL_USE_SSL = _MAIL.smtp.secure
EMAIL_USE_TLS = not _MAIL.smtp.secure and not _MAIL.smtp.ignore_tls
EMAIL_TIMEOUT = 10  # seconds; a slow or silent SMTP server never holds the mail queue long

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

DATA_UPLOAD_MAX_MEMORY_SIZE = CONFIG.server.max_payload_size
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

if CONFIG.server.ip_trust_proxy:
    USE_X_FORWARDED_HOST = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# CORS_* (core.config.cors) onto django-cors-headers (core.middleware.CorsMiddleware).
# Off: a path pattern that matches nothing, so no request gets any CORS header. "true" reflects
# every origin through a match-all pattern, so that CORS_CREDENTIALS stays independent (the
# library's allow-all reflects only with credentials). "*" is allow-all without credentials,
# the only way the library answers "*". Each list goes in as one comma-joined item so that the
# headers read "GET,POST" as in Directus, not the library's "GET, POST".
_CORS = CONFIG.cors
CORS_URLS_REGEX = r"^/" if _CORS.origin_mode != "off" else r"(?!)"
CORS_ALLOW_ALL_ORIGINS = _CORS.origin_mode == "any"
CORS_ALLOWED_ORIGIN_REGEXES = [r"^.*$"] if _CORS.origin_mode == "reflect" else []
CORS_ALLOWED_ORIGINS = _CORS.allowed_origins
CORS_ALLOW_CREDENTIALS = _CORS.credentials and _CORS.origin_mode != "any"
CORS_ALLOW_METHODS = [",".join(_CORS.methods)]
CORS_ALLOW_HEADERS = [",".join(_CORS.allowed_headers)]
CORS_EXPOSE_HEADERS = [",".join(_CORS.exposed_headers)] if _CORS.exposed_headers else []
CORS_PREFLIGHT_MAX_AGE = _CORS.max_age

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.DirectusAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_RENDERER_CLASSES": ["api.renderers.FastJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["api.drf.StrictJSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "api.drf.JSONOnlyNegotiation",
    "EXCEPTION_HANDLER": "api.drf.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [],
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Identity and access server",
    "DESCRIPTION": (
        "Directus-compatible authentication, access control and items API. "
        'Errors use the envelope {"errors": [{"message", "extensions": {"code"}}]}.'
    ),
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

_LEVELS = {
    "fatal": "CRITICAL",
    "error": "ERROR",
    "warn": "WARNING",
    "info": "INFO",
    "debug": "DEBUG",
    "trace": "DEBUG",
    "silent": "CRITICAL",
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request": {"()": "core.logging.RequestContextFilter"},
        "refused_upgrades": {"()": "core.logging.RefusedUpgradeFilter"},
    },
    "formatters": {
        "raw": {"()": "core.logging.JsonFormatter"},
        "pretty": {"()": "core.logging.PrettyFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": CONFIG.server.log_style,
            "filters": ["request"],
        },
    },
    "root": {"handlers": ["console"], "level": _LEVELS[CONFIG.server.log_level]},
    "loggers": {
        "django.server": {"level": "WARNING"},
        "uvicorn.access": {"level": "WARNING"},
        "uvicorn.error": {"filters": ["refused_upgrades"]},
    },
}

DIRECTUS = CONFIG
