"""Settings for the load test: production settings (DEBUG off), except that TLS is not
terminated on loopback, so cookies may travel over plain HTTP and nothing redirects to https.
Used by bench/load_bench.py for the seeding process and the gunicorn workers alike."""

from coding_bench.settings import *  # noqa: F403

SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
SECURE_PROXY_SSL_HEADER = None
