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


def test_a_queued_import_is_done_by_the_worker(worker, cms_data):
    from codesets.tasks import release_import_task

    # The add-on code table: small, and no session fixture imports it (a file imported before
    # would be found by its checksum and not queued at all).
    release, needs_import = services.release_register_file(
        system="aoc",
        path=cms_data / "ncci" / "AOC_addon_code_edits_2024-06-03_from_northstar.csv",
        label=f"AOC worker test {uuid.uuid4().hex[:6]}",
        effective_from=date(2024, 6, 3),
    )
    assert needs_import, "this file was imported earlier in the run; pick one nobody imports"
    release_import_task.apply_async(args=[release.pk], queue=worker)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        release.refresh_from_db()
        if release.status in (Release.Status.IMPORTED, Release.Status.FAILED):
            break
        time.sleep(0.5)
    assert release.status == Release.Status.IMPORTED, release.error
    assert release.addon_edits.count() == 7465
