"""A real Celery worker process imports a release queued by the web side.

The worker is a separate process, so it needs a database it can see: PostgreSQL (CI). The
in-memory SQLite test database exists only inside the test process.
"""

import os
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path

import pytest
from django.db import connection

from codesets import services
from codesets.models import Release

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="a worker process cannot see the in-memory SQLite test database; CI runs this "
        "on PostgreSQL",
    ),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def worker(settings):
    queue = f"test-{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        f"/{db['NAME']}",
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "coding_bench",
            "worker",
            "-Q",
            queue,
            "--pool=solo",
            "--loglevel=INFO",
            "--without-heartbeat",
            "--without-gossip",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield queue
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def test_a_queued_import_is_done_by_the_worker(worker, cms_data, settings, tmp_path):
    from codesets.tasks import release_import_task

    settings.MEDIA_ROOT = settings.MEDIA_ROOT  # the worker reads the stored copy from here
    release, needs_import = services.release_register_file(
        system="drg-weights",
        path=cms_data / "msdrg" / "ms-drg-table5-weights-fy2026.txt",
        label=f"Table 5 worker test {uuid.uuid4().hex[:6]}",
        effective_from=date(2025, 10, 1),
    )
    assert needs_import
    release_import_task.apply_async(args=[release.pk], queue=worker)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        release.refresh_from_db()
        if release.status in (Release.Status.IMPORTED, Release.Status.FAILED):
            break
        time.sleep(0.5)
    assert release.status == Release.Status.IMPORTED, release.error
    assert release.drg_weights.count() == 770
