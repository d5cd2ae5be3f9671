#!/usr/bin/env python
"""Re-check throughput after an activation: 100,000 open encounters, a real ICD-10-CM update.

    python bench/recheck_bench.py [--encounters 100000] [--affected 0.05] [--seed 7]

Uses its own PostgreSQL database, coding_bench_bench_recheck on the server of DATABASE_URL
(created and migrated when missing; the two bundled ICD-10-CM releases imported once). Each run
empties the encounter tables, seeds the open encounters in bulk (three diagnoses each, dates of
service after 1 April 2026; a share of them carrying a code the FY2026 April update deleted or
revised), then times `encounters.recode.recheck_run` for that release: the same batches the
Celery tasks run (the count, then 500 encounters per batch: one candidate query, one code
query, the edits on each candidate, one upsert of the flags).

Figures: open encounters scanned per second (the whole re-check over all open encounters) and
candidates re-checked per second (edits re-run and flag written).
"""

import argparse
import json
import logging
import os
import random
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

os.environ["DEBUG"] = "1"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coding_bench.settings")
os.environ.setdefault(
    "CODING_BENCH_VAR_DIR", str(Path(tempfile.gettempdir()) / "coding_bench_bench_recheck_var")
)
os.environ.setdefault("SEARCH_WARM_UP", "0")
DEFAULT_URL = os.environ.get(
    "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/coding_bench_bench"
).rpartition("/")[0]
DATABASE = "coding_bench_bench_recheck"
os.environ["DATABASE_URL"] = f"{DEFAULT_URL}/{DATABASE}"
RESULTS_DIR = ROOT / "bench" / "results"
SOURCES = ["icd10cm-2025", "icd10cm-2026-april"]


def setup_releases():
    from django.core.management import call_command

    from codesets import services
    from codesets.models import Release

    call_command("migrate", verbosity=0, interactive=False)
    releases = []
    for key in SOURCES:
        release, needs_import = services.release_register_bundled(
            source=services.bundled_source_get(key)
        )
        if needs_import or release.status in (Release.Status.PENDING, Release.Status.FAILED):
            t0 = time.perf_counter()
            release = services.release_import_now(release=release)
            print(f"imported {release.label} in {time.perf_counter() - t0:.0f} s", flush=True)
        if release.status == Release.Status.IMPORTED:
            release = services.release_activate(release=release)
        releases.append(release)
    return releases


def seed(*, count: int, affected: float, seed_value: int, release) -> dict:
    from django.db import connection

    from accounts.models import Role, User
    from accounts.services import user_create
    from codesets.models import Code
    from encounters import recode
    from encounters.models import DiagnosisAssignment, Encounter, Patient

    rng = random.Random(seed_value)
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE encounters_patient, encounters_encounter, encounters_recodeflag, "
            "encounters_releaserecheck CASCADE"
        )
    user = User.objects.filter(username="bench-coder").first() or user_create(
        username="bench-coder", password="bench-password-not-used-1", role=Role.JUNIOR
    )
    reasons = recode.release_code_reasons(release=release)
    changed = sorted(reasons)
    stable = list(
        Code.objects.filter(release=release, billable=True)
        .exclude(display__in=changed)
        .values_list("display", flat=True)[:5000]
    )
    t0 = time.perf_counter()
    Patient.objects.bulk_create(
        [
            Patient(
                mrn=f"B{n:07d}",
                first_name=f"Bench{n}",
                last_name="Patient",
                birth_date=date(1940, 1, 1) + timedelta(days=n % 20000),
                sex="F" if n % 2 else "M",
            )
            for n in range(count)
        ],
        batch_size=5000,
    )
    patients = list(Patient.objects.order_by("pk").values_list("pk", flat=True))
    statuses = list(recode.OPEN_STATUSES)
    Encounter.objects.bulk_create(
        [
            Encounter(
                patient_id=patients[n],
                account_number=f"BA{n:07d}",
                type=Encounter.Type.OUTPATIENT,
                admit_date=date(2026, 4, 2) + timedelta(days=n % 200),
                discharge_date=date(2026, 4, 2) + timedelta(days=n % 200),
                status=rng.choice(statuses),
                payer="Medicare",
            )
            for n in range(count)
        ],
        batch_size=5000,
    )
    encounter_ids = list(Encounter.objects.order_by("pk").values_list("pk", flat=True))
    rows, flagged_expected = [], 0
    for encounter_id in encounter_ids:
        codes = rng.sample(stable, 3)
        if rng.random() < affected:
            codes[rng.randrange(3)] = rng.choice(changed)
            flagged_expected += 1
        rows.extend(
            DiagnosisAssignment(
                encounter_id=encounter_id, code=code, sequence=i, poa="Y", created_by=user
            )
            for i, code in enumerate(codes, start=1)
        )
        if len(rows) >= 30000:
            DiagnosisAssignment.objects.bulk_create(rows, batch_size=10000)
            rows = []
    DiagnosisAssignment.objects.bulk_create(rows, batch_size=10000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE encounters_encounter; ANALYZE encounters_diagnosisassignment")
    return {
        "encounters": count,
        "diagnoses": count * 3,
        "changed_codes": len(changed),
        "expected_flags": flagged_expected,
        "seed_s": time.perf_counter() - t0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encounters", type=int, default=100_000)
    parser.add_argument("--affected", type=float, default=0.05, help="Share with a changed code.")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    from run import database_ensure

    database_ensure(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.cache import cache

    from codesets.signals import release_activated
    from encounters import recode

    # The IOCE logs a warning per claim with a non-zero return code: noise at this volume.
    logging.getLogger("pyoce").setLevel(logging.ERROR)
    # The bench times the re-check itself, in this process: no task goes to a broker.
    release_activated.disconnect(dispatch_uid="encounters-recheck")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"Re-check benchmark — {datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} CPUs, "
        f"load average {load}; database {DATABASE}",
        flush=True,
    )
    _old, new = setup_releases()
    seeded = seed(count=args.encounters, affected=args.affected, seed_value=args.seed, release=new)
    print(
        f"seeded {seeded['encounters']:,} open encounters ({seeded['diagnoses']:,} diagnoses) in "
        f"{seeded['seed_s']:.0f} s; {seeded['changed_codes']:,} codes deleted or revised by "
        f"{new.label}; {seeded['expected_flags']:,} encounters carry one",
        flush=True,
    )
    cache.clear()  # the diff of the two releases is computed inside the timing
    t0 = time.perf_counter()
    recheck = recode.recheck_run(release=new)
    seconds = time.perf_counter() - t0
    result = {
        **seeded,
        "release": new.label,
        "status": recheck.status,
        "candidates": recheck.total,
        "flagged": recheck.flagged,
        "recheck_s": seconds,
        "open_encounters_per_s": args.encounters / seconds,
        "candidates_per_s": recheck.total / seconds if seconds else 0,
        "batch_size": recode.BATCH_SIZE,
        "load_average_at_end": os.getloadavg(),
    }
    print(
        f"re-check: {recheck.status}, {recheck.total:,} candidates, {recheck.flagged:,} flagged, "
        f"{seconds:.1f} s\n"
        f"  {result['open_encounters_per_s']:,.0f} open encounters/s scanned, "
        f"{result['candidates_per_s']:,.0f} candidates/s re-checked (edits re-run, flag written)"
    )
    assert recheck.flagged == seeded["expected_flags"], "every carrier must be flagged"
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"recheck-bench-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(result, indent=2, default=str))
    print(f"Raw figures: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
