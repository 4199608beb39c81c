"""Settings for the test suite: the project's settings under a test environment.

The environment (``DB_CLIENT=pg`` and friends, ``REDIS``) still decides the database and cache,
so the same suite runs on SQLite and on PostgreSQL + Redis."""

import os

os.environ.setdefault("NODE_ENV", "test")
os.environ.setdefault("SECRET", "test-secret-that-is-long-enough-for-hs256-signing")
os.environ.setdefault("HASH_MEMORY_COST", "1024")
os.environ.setdefault("HASH_TIME_COST", "1")
os.environ.setdefault("HASH_PARALLELISM", "1")
os.environ.setdefault("LOGIN_STALL_TIME", "50")

from project.settings import *  # noqa: F403

# Static files are served from the apps directly; nothing to collect in tests.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
