"""Settings come from the environment; production (DEBUG off) refuses an unsafe start."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GOOD_KEY = "k" * 20 + "0123456789abcdefghijklmnopqrstuvwxyz"


def _settings_with(env: dict) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "REDIS_URL", "PHI_ENCRYPTION_KEYS"}
    }
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='coding_bench.settings'; "
        "from django.conf import settings; "
        "print(settings.DEBUG, settings.CELERY_BROKER_URL, settings.DATABASES['default']['ENGINE'])"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_to_start_without_a_real_secret_key():
    result = _settings_with({"DEBUG": "0", "CODING_BENCH_VAR_DIR": "/tmp/cb-settings-test"})
    assert result.returncode != 0
    assert "SECRET_KEY must be set to at least 50 random characters" in result.stderr


def test_production_refuses_to_start_without_phi_encryption_keys():
    result = _settings_with(
        {"DEBUG": "0", "SECRET_KEY": GOOD_KEY, "CODING_BENCH_VAR_DIR": "/tmp/cb-settings-test"}
    )
    assert result.returncode != 0
    assert "PHI_ENCRYPTION_KEYS must be set" in result.stderr


def test_production_starts_with_a_real_secret_key():
    result = _settings_with(
        {
            "DEBUG": "0",
            "SECRET_KEY": GOOD_KEY,
            "PHI_ENCRYPTION_KEYS": "a-long-random-phi-key",
            "CODING_BENCH_VAR_DIR": "/tmp/cb-settings-test",
        }
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "False"


def test_defaults_are_embedded_sqlite_and_file_system_broker():
    result = _settings_with(
        {"DEBUG": "1", "DATABASE_URL": "", "CODING_BENCH_VAR_DIR": "/tmp/cb-settings-test"}
    )
    assert result.returncode == 0, result.stderr
    debug, broker, engine = result.stdout.split()
    assert (debug, broker, engine) == ("True", "filesystem://", "django.db.backends.sqlite3")


def test_redis_url_makes_redis_the_broker():
    result = _settings_with(
        {
            "DEBUG": "1",
            "REDIS_URL": "redis://127.0.0.1:6379/5",
            "CODING_BENCH_VAR_DIR": "/tmp/cb-settings-test",
        }
    )
    assert result.stdout.split()[1] == "redis://127.0.0.1:6379/5"


def test_a_malformed_boolean_is_a_clear_error():
    result = _settings_with({"DEBUG": "maybe"})
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr
