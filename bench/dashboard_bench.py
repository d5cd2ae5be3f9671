#!/usr/bin/env python
"""Quality dashboard server time with 100,000 coded encounters and 5,000 audit items.

    python bench/dashboard_bench.py [--encounters 100000] [--items 5000] [--runs 20] [--reseed]
                                    [--explain N]

Its own PostgreSQL database, coding_bench_bench_dashboard, on the server of DATABASE_URL (else
postgres://postgres@127.0.0.1:5432): created, migrated and seeded the first time (patients and
encounters with bulk_create, the 400,000 workflow transitions with COPY), reused after that
unless --reseed. Every encounter went intake → ready → coding → review → coded inside the
dashboard's default range (the last 12 weeks), so every row counts: the worst case. The
tables are vacuumed before timing, as autovacuum keeps a database in use. Then the
dashboard is requested through Django's test client (the whole view: filters, the aggregate
queries, the SVG charts, the template), a few warm-up requests first; p50 / p95 of server time:
warm (every figure from the cache), after a coding step (a step into "ready" or "coded": the
turnaround computed, the audit figures still cached) and cold (every figure computed).
--explain N adds PostgreSQL's own time of each query of a cold request (EXPLAIN ANALYZE,
min / median of N), which a busy machine disturbs less than the page time.
Target: p95 under 300 ms.
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

os.environ["DEBUG"] = "1"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coding_bench.settings")
# The bench times the dashboard, not the second sign-in step its senior would need.
os.environ.setdefault("MFA_REQUIRED_ROLES", "none")
os.environ.setdefault(
    "CODING_BENCH_VAR_DIR", str(Path(tempfile.gettempdir()) / "coding_bench_bench_var")
)
BASE_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/coding_bench_bench")
DATABASE = "coding_bench_bench_dashboard"
TARGET_MS = 300.0
CODERS = 20

from run import _db_params, database_ensure, percentile  # noqa: E402


def dashboard_url() -> str:
    base, _, _ = BASE_URL.rpartition("/")
    return f"{base}/{DATABASE}"


def seed(n_encounters: int, n_items: int) -> None:
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.models import Role, User
    from audits.models import AuditItem, AuditPlan, AuditSettings, Finding
    from encounters.models import Encounter, Patient, Transition
    from encounters.services import turnaround_steps_backfill

    rng = random.Random(5)
    S = Encounter.Status
    started = time.perf_counter()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE encounters_transition, audits_finding, audits_audititem, "
                "audits_auditplan_auditors, audits_auditplan, encounters_encounter, "
                "encounters_patient, accounts_phiaccess RESTART IDENTITY CASCADE"
            )
        User.objects.filter(username__startswith="bench_").delete()
        senior = User.objects.create(username="bench_senior", role=Role.SENIOR)
        coders = User.objects.bulk_create(
            User(username=f"bench_coder{i:02d}", role=Role.JUNIOR, first_name=f"Coder {i:02d}")
            for i in range(CODERS)
        )
        AuditSettings.current()
        patients = Patient.objects.bulk_create(
            (
                Patient(
                    mrn=f"B{i:07d}",
                    first_name="Bench",
                    last_name=f"Patient{i}",
                    birth_date=date(1950, 1, 1) + timedelta(days=i % 20000),
                    sex="F" if i % 2 else "M",
                )
                for i in range(n_encounters // 5)
            ),
            batch_size=5000,
        )
        today = timezone.localdate()
        types = [t for t, _ in Encounter.Type.choices]
        held = max(1, n_encounters // 200)  # 0.5 % still held in pre-bill audit
        encounters = Encounter.objects.bulk_create(
            (
                Encounter(
                    patient=patients[i % len(patients)],
                    account_number=f"BA{i:08d}",
                    type=rng.choice(types),
                    admit_date=today - timedelta(days=rng.randint(1, 84)),
                    status=S.PRE_BILL_AUDIT if i < held else S.CODED,
                    assignee=coders[i % CODERS],
                    due_date=today,
                )
                for i in range(n_encounters)
            ),
            batch_size=5000,
        )
        print(
            f"  {len(encounters):,} encounters: {time.perf_counter() - started:.0f} s", flush=True
        )
        now = timezone.now()
        columns = "encounter_id, from_status, to_status, by_id, at, note, detail"
        n_transitions = 0
        with connection.cursor() as cursor:
            copy_sql = f"COPY {Transition._meta.db_table} ({columns}) FROM STDIN"
            with cursor.cursor.copy(copy_sql) as copy:
                for i, e in enumerate(encounters):
                    coded_at = now - timedelta(minutes=rng.randint(60, 83 * 24 * 60))
                    hours = timedelta(hours=rng.uniform(1, 96))  # ready → coded
                    ready_at = coded_at - hours
                    for frm, to, at in (
                        ("", S.INTAKE, ready_at - timedelta(minutes=10)),
                        (S.INTAKE, S.READY, ready_at),
                        (S.READY, S.CODING, ready_at + hours * 0.2),
                        (S.CODING, S.REVIEW, ready_at + hours * 0.8),
                        (S.REVIEW, S.CODED, coded_at),
                    ):
                        copy.write_row((e.pk, frm, to, senior.pk, at, "", "{}"))
                        n_transitions += 1
                    if i < held:
                        at = now - timedelta(hours=rng.uniform(1, 24 * 14))
                        copy.write_row((e.pk, S.CODED, S.PRE_BILL_AUDIT, senior.pk, at, "", "{}"))
                        n_transitions += 1
        # COPY bypasses transition_record, which keeps each encounter's first ready/coded time.
        turnaround_steps_backfill()
        print(f"  {n_transitions:,} transitions: {time.perf_counter() - started:.0f} s", flush=True)
        plans = []
        for p in range(5):
            plan = AuditPlan.objects.create(
                name=f"Bench plan {p + 1}",
                kind=AuditPlan.Kind.POST_BILL if p else AuditPlan.Kind.PRE_BILL,
                method=AuditPlan.Method.RANDOM_PERCENT,
                percent=Decimal("5"),
                date_from=today - timedelta(days=90),
                date_to=today,
                seed=p,
                status=AuditPlan.Status.SAMPLED,
                created_by=senior,
            )
            plan.auditors.add(senior)
            plans.append(plan)
        sample = rng.sample(encounters, n_items)
        items = []
        for k, e in enumerate(sample):
            total = rng.randint(3, 12)
            agreed = total - (rng.random() < 0.35) * rng.randint(1, 2)
            inpatient = e.type == Encounter.Type.INPATIENT
            diff = (
                Decimal(str(round(rng.uniform(-0.8, 0.8), 4)))
                if inpatient and rng.random() < 0.2
                else None
            )
            items.append(
                AuditItem(
                    plan=plans[k % 5],
                    encounter=e,
                    coder=e.assignee,
                    auditor=senior,
                    selection_reason="Random 5 %",
                    status=AuditItem.Status.COMPARED,
                    codes_agreed=agreed,
                    codes_total=total,
                    compared_at=now - timedelta(minutes=rng.randint(60, 83 * 24 * 60)),
                    original_drg={"drg": "292"} if inpatient else {},
                    audited_drg={"drg": "291" if diff else "292"} if inpatient else {},
                    weight_difference=diff,
                    payment_effect=(
                        "" if diff is None else ("upcoding" if diff > 0 else "downcoding")
                    ),
                )
            )
        items = AuditItem.objects.bulk_create(items, batch_size=2000)
        categories = [c for c, _ in Finding.Category.choices]
        resolutions = ["", "", "", "upheld", "overturned"]
        findings = [
            Finding(
                item=item,
                kind=Finding.Kind.CHANGED,
                category=rng.choice(categories),
                code_kind="diagnosis",
                original_code="E11.9",
                audited_code="E11.65",
                resolution=rng.choice(resolutions),
            )
            for item in items
            if item.codes_agreed < item.codes_total
            for _ in range(item.codes_total - item.codes_agreed)
        ]
        Finding.objects.bulk_create(findings, batch_size=5000)
        print(
            f"  {len(items):,} audit items, {len(findings):,} findings: "
            f"{time.perf_counter() - started:.0f} s",
            flush=True,
        )


def settle() -> None:
    """VACUUM ANALYZE the tables the dashboard reads, as autovacuum would have done to a
    database in use: fresh statistics, and the visibility map that lets the turnaround query
    read its index alone (a freshly written row needs a visit to the table until then).
    Cheap when nothing changed."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "VACUUM ANALYZE encounters_encounter, encounters_transition, audits_audititem, "
            "audits_finding, accounts_user"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encounters", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--reseed", action="store_true", help="seed again even if seeded")
    parser.add_argument(
        "--explain", type=int, default=0, metavar="N", help="EXPLAIN ANALYZE each query N times"
    )
    args = parser.parse_args()

    url = dashboard_url()
    os.environ["DATABASE_URL"] = url
    _db_params(url)  # refuses anything but PostgreSQL
    created = database_ensure(url)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse

    from accounts.models import User
    from audits.models import AuditItem
    from encounters.models import Encounter

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"Dashboard benchmark — {datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} CPUs, "
        f"load average {load}; database {DATABASE}{' (created)' if created else ''}"
    )
    call_command("migrate", verbosity=0, interactive=False)
    seeded = (
        Encounter.objects.count() == args.encounters and AuditItem.objects.count() == args.items
    )
    if args.reseed or not seeded:
        print(f"Seeding {args.encounters:,} coded encounters and {args.items:,} audit items …")
        seed(args.encounters, args.items)
    else:
        print("Reusing the seeded rows (--reseed to seed again).")
    settle()

    setup_test_environment()
    client = Client()
    client.force_login(User.objects.get(username="bench_senior"))
    url_path = reverse("audits:dashboard")
    for _ in range(3):  # warm-up: imports, template loading, PostgreSQL caches
        assert client.get(url_path).status_code == 200
    from django.core.cache.backends.dummy import DummyCache

    from audits import metrics

    def timed(runs: int) -> tuple[list[float], dict]:
        times, query_ms = [], {}
        for _ in range(runs):
            reset_queries()
            t0 = time.perf_counter()
            response = client.get(url_path)
            times.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200
            for n, q in enumerate(connection.queries):
                query_ms.setdefault(n, (q["sql"], []))[1].append(float(q["time"]) * 1000)
        return times, query_ms

    warm_times, warm_queries = timed(args.runs)
    # After a step into "ready" or "coded" (what a working day brings every few minutes): the
    # turnaround is computed again, the audit figures are still cached (no audit data changed).
    # Cold: nothing cached (as after a finding changed, too). Each swaps the module's cache in
    # this process only.
    shared_cache = metrics.cache
    try:
        metrics.cache = MissingTurnaround(shared_cache)
        step_times, step_queries = timed(max(5, args.runs // 2))
        metrics.cache = DummyCache("bench", {})
        cold_times, cold_queries = timed(max(5, args.runs // 2))
    finally:
        metrics.cache = shared_cache
    print(f"\nGET {url_path} (default range: last 12 weeks, all coders, every row in range)")
    for label, times, queries in (
        ("warm (all cached)", warm_times, warm_queries),
        ("after a coding step", step_times, step_queries),
        ("cold (nothing cached)", cold_times, cold_queries),
    ):
        p50, p95 = percentile(times, 50), percentile(times, 95)
        print(
            f"{label:<22} {len(times):>3} runs, {len(queries)} queries: p50 {p50:5.0f} ms, "
            f"p95 {p95:5.0f} ms, max {max(times):5.0f} ms  (target p95 < {TARGET_MS:.0f} ms: "
            f"{'ok' if p95 < TARGET_MS else 'MISSED'})"
        )
        slow = sorted(queries.values(), key=lambda v: -statistics.median(v[1]))[:3]
        for sql, ms in slow:
            print(f"    {statistics.median(ms):7.1f} ms  {' '.join(sql.split())[:100]}")
    if args.explain:
        explain(cold_queries, args.explain)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average at the end: {load}")


class MissingTurnaround:
    """The shared cache, except that the turnaround block is never found."""

    def __init__(self, cache) -> None:
        self.cache = cache

    def get(self, key: str, *args, **kwargs):
        if key.startswith("quality:throughput:"):
            return None
        return self.cache.get(key, *args, **kwargs)

    def set(self, *args, **kwargs) -> None:
        self.cache.set(*args, **kwargs)


def explain(queries: dict, runs: int) -> None:
    """PostgreSQL's own execution time of each query of a cold request (EXPLAIN ANALYZE,
    TIMING OFF): the server's share, less sensitive to a busy machine than the page time."""
    from django.db import connection

    print(f"\nEXPLAIN ANALYZE of the cold request's queries, {runs} runs each (min / median):")
    total_min = total_median = 0.0
    for sql, _ms in queries.values():
        if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
            continue  # the session's writes
        times = []
        for _ in range(runs):
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) " + sql)
                times.append(cursor.fetchone()[0][0]["Execution Time"])
        total_min, total_median = total_min + min(times), total_median + statistics.median(times)
        if statistics.median(times) >= 1:
            print(
                f"    {min(times):7.1f} / {statistics.median(times):7.1f} ms  "
                f"{' '.join(sql.split())[:90]}"
            )
    print(f"    {total_min:7.1f} / {total_median:7.1f} ms  all {len(queries)} queries")


if __name__ == "__main__":
    main()
