"""Production is what DEBUG off gives: Django's deployment checks pass with no warning."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GOOD_KEY = "k" * 20 + "0123456789abcdefghijklmnopqrstuvwxyz-_=+"


def _manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    keep = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "REDIS_URL", "PHI_ENCRYPTION_KEYS", "ALLOWED_HOSTS"}
        and not k.startswith(("SECURE_", "SESSION_", "AXES_", "MFA_"))
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**keep, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": GOOD_KEY,
    "PHI_ENCRYPTION_KEYS": "x",
    "ALLOWED_HOSTS": "bench.example.org",
    "CODING_BENCH_VAR_DIR": "/tmp/cb-deploy-check",
}


def test_check_deploy_passes_with_production_settings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_headers_and_cookies_are_strict():
    code = (
        "from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, "
        "s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD, s.SECURE_SSL_REDIRECT, "
        "s.X_FRAME_OPTIONS, s.SECURE_REFERRER_POLICY, "
        "s.CONTENT_SECURITY_POLICY['DIRECTIVES']['script-src'])"
    )
    result = _manage("shell", "-c", code, env=PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == (
        "True True 31536000 True True True DENY same-origin [\"'self'\"]"
    )


def test_the_proxy_can_take_over_the_https_redirect():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={**PRODUCTION, "SECURE_SSL_REDIRECT": "0"},
    )
    # Django warns (W008) that it no longer redirects itself: that is what was asked for.
    assert "security.W008" in result.stdout + result.stderr
