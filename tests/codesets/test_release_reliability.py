"""Releases survive what goes wrong: a worker killed mid-import, two imports of one file at once,
damaged files, and a second active release for dates already covered (refused by PostgreSQL).

The worker tests start real Celery worker processes against Redis and PostgreSQL (CI sets both
REDIS_URL and DATABASE_URL); they skip with the reason elsewhere.
"""

import gzip
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import date
from pathlib import Path

import pytest
from django.conf import settings
from django.db import IntegrityError, connection, transaction

from codesets import selectors, services
from codesets.importers.base import progress_read
from codesets.models import PtpEdit, Release

ROOT = Path(__file__).resolve().parents[2]
PTP = "ncci/ncci_ptp_practitioner_v30.1r0_2024-04-01_from_northstar.csv.gz"
# Rows of the real practitioner PTP table the kill test imports: enough that the import is
# still running when progress first shows, few enough to keep the test short.
KILL_ROWS = 400_000
# How long an unacknowledged task stays with a dead worker before Redis hands it out again.
VISIBILITY_TIMEOUT = 8

on_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: SQLite has no exclusion constraints, and a worker process "
    "cannot see the in-memory SQLite test database (CI runs these on PostgreSQL)",
)
with_redis = pytest.mark.skipif(
    not settings.REDIS_URL,
    reason="needs Redis as the Celery broker (REDIS_URL); CI sets it",
)


def _ptp_excerpt(cms_data: Path, folder: Path, rows: int, tag: str) -> Path:
    """The header and the first `rows` pairs of the real practitioner table, gzipped."""
    target = folder / f"ncci_ptp_practitioner_{tag}.csv.gz"
    with (
        gzip.open(cms_data / PTP, "rt", newline="") as src,
        gzip.open(target, "wt", newline="", compresslevel=1) as out,
    ):
        for number, line in enumerate(src):
            if number > rows:
                break
            out.write(line)
    return target


# ---------------------------------------------------------------- a worker killed mid-import


def _start_worker(queue: str) -> subprocess.Popen:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        f"/{db['NAME']}",
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        "SEARCH_WARM_UP": "0",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "coding_bench",
            "worker",
            "-Q",
            queue,
            "--pool=solo",  # the task runs in this very process: SIGKILL kills it mid-row
            "--loglevel=WARNING",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@on_postgres
@with_redis
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_import_leaves_no_rows_and_the_redelivered_task_completes(
    cms_data, tmp_path, settings
):
    from codesets.tasks import release_import_task

    settings.MEDIA_ROOT = tmp_path / "media"
    path = _ptp_excerpt(cms_data, tmp_path, KILL_ROWS, uuid.uuid4().hex[:8])
    release, needs_import = services.release_register_file(
        system="ncci-ptp",
        path=path,
        label=f"PTP kill test {uuid.uuid4().hex[:6]}",
        effective_from=date(2024, 4, 1),
        setting="practitioner",
    )
    assert needs_import
    queue = f"test-kill-{uuid.uuid4().hex[:8]}"
    first = _start_worker(queue)
    second = None
    try:
        release_import_task.apply_async(args=[release.pk], queue=queue)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            live = progress_read(release.pk)
            if live and live[0] > 0:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the import never showed progress")
        os.kill(first.pid, signal.SIGKILL)
        killed = time.monotonic()  # delivered before this: visible again by killed + timeout
        first.wait(timeout=10)

        release.refresh_from_db()
        # Pending or importing (the status change may be part of the killed transaction), but
        # never imported: otherwise the import finished before the kill (raise KILL_ROWS).
        assert release.status in (Release.Status.PENDING, Release.Status.IMPORTING), release.status
        assert release.row_count == 0
        assert PtpEdit.objects.filter(release=release).count() == 0  # rolled back with it

        # Redis hands the unacknowledged task out again once its visibility timeout has passed;
        # a starting worker restores such tasks at once (a later one only every minute or so).
        time.sleep(max(0.0, killed + VISIBILITY_TIMEOUT + 1 - time.monotonic()))
        second = _start_worker(queue)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            release.refresh_from_db()
            if release.status in (Release.Status.IMPORTED, Release.Status.FAILED):
                break
            time.sleep(0.5)
        assert release.status == Release.Status.IMPORTED, release.error or release.status
        assert release.row_count == KILL_ROWS
        assert PtpEdit.objects.filter(release=release).count() == KILL_ROWS
        assert release.counts["pairs"] == KILL_ROWS
    finally:
        _stop(first)
        if second is not None:
            _stop(second)


# ---------------------------------------------------------------- two imports at once


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_two_registrations_of_one_file_at_once_make_one_release(cms_data, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    path = _ptp_excerpt(cms_data, tmp_path, 2_000, "twice")
    start = threading.Barrier(2)
    results: list = []
    errors: list = []

    def register(label: str) -> None:
        try:
            start.wait(timeout=10)
            results.append(
                services.release_register_file(
                    system="ncci-ptp",
                    path=path,
                    label=label,
                    effective_from=date(2024, 4, 1),
                    setting="practitioner",
                )
            )
        except Exception as exc:  # reported below, with the thread's own error
            errors.append(exc)
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=register, args=(f"PTP twice {n}",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len(results) == 2
    assert results[0][0].pk == results[1][0].pk
    assert sorted(needs for _, needs in results) == [False, True]
    assert Release.objects.filter(checksum=results[0][0].checksum).count() == 1


# ---------------------------------------------------------------- damaged files


@pytest.mark.django_db
def test_a_truncated_file_is_refused_with_nothing_written(cms_data, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    whole = (cms_data / PTP).read_bytes()
    cut = tmp_path / "ncci_ptp_practitioner_cut.csv.gz"
    cut.write_bytes(whole[: len(whole) // 3])
    try:
        release, _ = services.release_register_file(
            system="ncci-ptp",
            path=cut,
            label="PTP cut",
            effective_from=date(2024, 4, 1),
            setting="practitioner",
        )
    except services.ReleaseError as exc:  # refused before anything was written
        assert "truncated" in str(exc)
        assert not Release.objects.filter(label="PTP cut").exists()
        return
    release = services.release_import_now(release=release)
    assert release.status == Release.Status.FAILED
    assert "truncated" in release.error
    assert PtpEdit.objects.filter(release=release).count() == 0
    assert release.row_count == 0


@pytest.mark.django_db
def test_a_bad_row_deep_in_a_file_fails_the_import_with_the_line_and_no_rows(
    cms_data, tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path / "media"
    good = _ptp_excerpt(cms_data, tmp_path, 5_000, "bad")
    with gzip.open(good, "rt", newline="") as fh:
        lines = fh.readlines()
    parts = lines[4000].rstrip("\r\n").split(",")
    parts[5] = "7"  # modifier indicator: 0, 1 or 9 only
    lines[4000] = ",".join(parts) + "\n"
    bad = tmp_path / "ncci_ptp_practitioner_badrow.csv.gz"
    with gzip.open(bad, "wt", newline="") as fh:
        fh.writelines(lines)
    release, _ = services.release_register_file(
        system="ncci-ptp",
        path=bad,
        label="PTP bad row",
        effective_from=date(2024, 4, 1),
        setting="practitioner",
    )
    release = services.release_import_now(release=release)
    assert release.status == Release.Status.FAILED
    assert "Line 4001: modifier indicator '7' is not 0, 1 or 9." in release.error
    assert PtpEdit.objects.filter(release=release).count() == 0


@pytest.mark.django_db
def test_an_oversized_file_is_refused_before_anything_is_written(cms_data, settings):
    settings.RELEASE_UPLOAD_MAX_BYTES = 1024 * 1024
    before = Release.objects.count()
    with pytest.raises(services.ReleaseError, match="the limit is 1 MB"):
        services.release_register_file(
            system="ncci-ptp",
            path=cms_data / PTP,
            label="PTP too big",
            effective_from=date(2024, 4, 1),
            setting="practitioner",
        )
    assert Release.objects.count() == before


# ---------------------------------------------------------------- one release in force per date


def _bare_release(label: str, start: date, end: date | None, status: str) -> Release:
    return Release.objects.create(
        system=services.code_system_get("icd10cm"),
        label=label,
        effective_from=start,
        effective_to=end,
        source=Release.Source.FILE,
        source_name=f"{label}.txt",
        checksum=uuid.uuid4().hex * 2,
        status=status,
    )


@on_postgres
@pytest.mark.django_db
def test_the_database_refuses_a_second_active_release_for_the_same_dates():
    # FY2025 is in force 2024-10-01 .. 2026-03-31, FY2026 April from 2026-04-01 on.
    with pytest.raises(IntegrityError, match="release_one_in_force_per_date"), transaction.atomic():
        _bare_release("Overlap", date(2025, 1, 1), None, Release.Status.ACTIVE)
    with pytest.raises(IntegrityError), transaction.atomic():
        _bare_release("Overlap end", date(2019, 1, 1), date(2024, 10, 1), "active")
    # Days nobody covers, or a release that is not active, are fine.
    _bare_release("Before", date(2019, 1, 1), date(2024, 9, 30), Release.Status.ACTIVE)
    _bare_release("Imported", date(2025, 1, 1), None, Release.Status.IMPORTED)


@pytest.mark.django_db
def test_activating_between_two_releases_and_retiring_keep_one_release_per_date():
    fy2025 = selectors.release_get_by_label(system="icd10cm", label="ICD-10-CM FY2025")
    april = selectors.release_get_by_label(system="icd10cm", label="ICD-10-CM FY2026 April update")
    middle = _bare_release("Mid-year", date(2025, 6, 1), None, Release.Status.IMPORTED)

    services.release_activate(release=middle)
    for release in (fy2025, middle, april):
        release.refresh_from_db()
    assert fy2025.effective_to == date(2025, 5, 31)
    assert (middle.status, middle.effective_to) == (Release.Status.ACTIVE, date(2026, 3, 31))
    assert april.effective_to is None
    assert selectors.release_in_force(system="icd10cm", on=date(2025, 6, 1)) == middle

    services.release_retire(release=middle)
    fy2025.refresh_from_db()
    assert fy2025.effective_to == date(2026, 3, 31)
    assert selectors.release_in_force(system="icd10cm", on=date(2025, 6, 1)) == fy2025
