#!/usr/bin/env python
"""`make load`: 50 coders at once against gunicorn + PostgreSQL + Redis on loopback (locust).

    python bench/load_bench.py [--users 50] [--duration 60] [--workers N] [--port 8765]

It sets itself up like bench/run.py: DATABASE_URL if set, else
postgres://postgres@127.0.0.1:5432/coding_bench_load (created and migrated when missing, code
sets bootstrapped: idempotent), then seeds once 50 coder users (load-coder-01..50, junior and
intermediate: no second factor), a signed-in session each, and 500 outpatient charts in
coding, ten per coder, each with a note. It starts gunicorn (2 x CPUs + 1 sync workers) with
production settings (bench/load/load_settings.py: DEBUG off, TLS not terminated on loopback)
and Redis (REDIS_URL, else redis://127.0.0.1:6379/14) as cache and broker; the master builds
the search indexes before forking (bench/load/gunicorn_conf.py). Then it runs locust headless
(bench/load/locustfile.py). It prints requests/s, p50/p95 per request type and the error
count, and writes bench/results/load-*.json.
Target: p95 under 200 ms and no errors at 50 users.
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOAD_DIR = ROOT / "bench" / "load"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(LOAD_DIR))
sys.path.insert(0, str(ROOT / "bench"))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/coding_bench_load"
TARGET_P95_MS = 200.0
CHARTS_PER_CODER = 10
RESULTS_DIR = ROOT / "bench" / "results"

os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
os.environ["DJANGO_SETTINGS_MODULE"] = "load_settings"
os.environ["DEBUG"] = "0"
# Fixed keys: the load database is a throwaway, and the seeding process and the workers must
# agree on them (patient identifiers are encrypted with the PHI key).
os.environ.setdefault("SECRET_KEY", "load-bench-" + "k" * 60)
os.environ.setdefault("PHI_ENCRYPTION_KEYS", "load-bench-phi-key")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
os.environ.setdefault(
    "CODING_BENCH_VAR_DIR", str(Path(tempfile.gettempdir()) / "coding_bench_load_var")
)


def setup(coders: int) -> dict[str, dict]:
    """Migrate, bootstrap the code sets, seed the coders, their charts and sessions."""
    from run import database_ensure

    if database_ensure(os.environ["DATABASE_URL"]):
        print(f"Created {os.environ['DATABASE_URL'].rsplit('/', 1)[1]}", flush=True)
    import django

    django.setup()
    from django.core.management import call_command

    from codesets.services import codesets_bootstrap

    call_command("migrate", verbosity=0, interactive=False)
    call_command("collectstatic", verbosity=0, interactive=False)  # as a deployment does
    t0 = time.perf_counter()
    codesets_bootstrap(include_cms=False, report=lambda line: print("  " + line, flush=True))
    print(f"Code sets ready ({time.perf_counter() - t0:.0f} s)", flush=True)
    return seed(coders)


def signed_in_session(user) -> str:
    """A session key for the user, as a sign-in makes it. Coders sign in once a day: the
    password hash (PBKDF2, ~1-2 s of CPU by design) is not part of the coding loop measured."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def seed(coders: int) -> dict[str, dict]:
    from django.db import transaction

    from accounts.models import Role, User
    from accounts.services import user_create
    from encounters.models import DiagnosisAssignment, Document, Encounter, Patient

    charts: dict[str, dict] = {}
    with transaction.atomic():
        for n in range(1, coders + 1):
            username = f"load-coder-{n:02d}"
            user = User.objects.filter(username=username).first() or user_create(
                username=username,
                password="load-test-password-1",
                role=Role.JUNIOR if n % 2 else Role.INTERMEDIATE,
                first_name="Load",
                last_name=f"Coder {n:02d}",
            )
            mine = list(
                Encounter.objects.filter(account_number__startswith=f"LOAD-{n:02d}-")
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            for i in range(len(mine), CHARTS_PER_CODER):
                patient = Patient.objects.create(
                    mrn=f"LOAD{n:02d}{i:03d}",
                    first_name=f"Pat{i}",
                    last_name=f"Load{n:02d}",
                    birth_date=date(1958, 3, 2),
                    sex="F",
                    coverage="Medicare",
                )
                encounter = Encounter.objects.create(
                    patient=patient,
                    account_number=f"LOAD-{n:02d}-{i:03d}",
                    type=Encounter.Type.OUTPATIENT,
                    admit_date=date(2026, 5, 4),
                    discharge_date=date(2026, 5, 4),
                    provider="Dr. Load",
                    payer="Medicare",
                    status=Encounter.Status.CODING,
                    assignee=user,
                    due_date=date.today() + timedelta(days=3),
                )
                Document.objects.create(
                    encounter=encounter,
                    note_type=Document.NoteType.PROGRESS,
                    title="Progress note",
                    written_on=date(2026, 5, 4),
                    text="Assessment: type 2 diabetes mellitus, essential hypertension. "
                    "Plan: continue metformin and lisinopril.",
                    created_by=user,
                )
                mine.append(encounter.pk)
            charts[username] = {"charts": mine, "session": signed_in_session(user)}
        # A run stopped half-way may leave a code on a chart: every chart starts empty.
        DiagnosisAssignment.objects.filter(encounter__account_number__startswith="LOAD-").delete()
        Encounter.objects.filter(account_number__startswith="LOAD-").update(
            status=Encounter.Status.CODING
        )
    total = sum(len(c["charts"]) for c in charts.values())
    print(f"Seeded {coders} coders, {total} charts", flush=True)
    return charts


def wait_until_up(base: str, timeout: float = 300) -> None:
    """The master builds the search indexes before the workers start (gunicorn_conf.py)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/sign-in/", timeout=5).read()
            return
        except OSError:
            time.sleep(0.5)
    sys.exit("gunicorn did not start")


def read_stats(prefix: Path) -> list[dict]:
    with open(f"{prefix}_stats.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def report(rows: list[dict], users: int, duration: int, workers: int) -> dict:
    print(f"\n== Load: {users} coders, {duration} s, gunicorn {workers} workers ==")
    print(f"Load average now: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'request':<22}{'count':>8}{'errors':>8}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}")
    figures = []
    for row in rows:
        figure = {
            "name": row["Name"],
            "count": int(row["Request Count"]),
            "errors": int(row["Failure Count"]),
            "rps": float(row["Requests/s"]),
            "p50_ms": float(row["50%"] or 0),
            "p95_ms": float(row["95%"] or 0),
            "max_ms": float(row["Max Response Time"] or 0),
        }
        figures.append(figure)
        print(
            f"{figure['name'][:22]:<22}{figure['count']:>8}{figure['errors']:>8}"
            f"{figure['rps']:>8.1f}{figure['p50_ms']:>8.0f}{figure['p95_ms']:>8.0f}"
        )
    total = next(f for f in figures if f["name"] == "Aggregated")
    ok = total["p95_ms"] < TARGET_P95_MS and total["errors"] == 0
    print(
        f"\nTarget p95 < {TARGET_P95_MS:.0f} ms and 0 errors: "
        f"{'met' if ok else 'NOT met'} (p95 {total['p95_ms']:.0f} ms, {total['errors']} errors)"
    )
    return {"figures": figures, "target_met": ok}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=int, default=60, help="seconds")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--think", default="1-3", help="seconds a coder reads between two clicks (low-high)"
    )
    args = parser.parse_args()

    load_avg = os.getloadavg()
    print(f"Load average before the run: {load_avg[0]:.2f} {load_avg[1]:.2f}", flush=True)
    charts = setup(args.users)
    from django.db import connections

    connections.close_all()
    scratch = Path(tempfile.mkdtemp(prefix="coding-bench-load-"))
    charts_file = scratch / "charts.json"
    charts_file.write_text(json.dumps(charts))
    env = dict(os.environ, PYTHONPATH=f"{LOAD_DIR}{os.pathsep}{ROOT}", SEARCH_WARM_UP="0")
    bin_dir = Path(sys.executable).parent
    base = f"http://127.0.0.1:{args.port}"
    server = subprocess.Popen(
        [str(bin_dir / "gunicorn"), "coding_bench.wsgi:application", "--bind",
         f"127.0.0.1:{args.port}", "--workers", str(args.workers), "--timeout", "120",
         "--config", str(LOAD_DIR / "gunicorn_conf.py"),
         "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        wait_until_up(base)
        prefix = scratch / "load"
        done = subprocess.run(
            [str(bin_dir / "locust"), "-f", str(LOAD_DIR / "locustfile.py"), "--headless",
             "--users", str(args.users), "--spawn-rate", str(max(1, args.users // 5)),
             "--run-time", f"{args.duration}s", "--host", base, "--csv", str(prefix),
             "--only-summary", "--loglevel", "WARNING", "--charts", str(charts_file)],
            cwd=ROOT, env=dict(env, LOAD_CODERS=str(args.users), LOAD_THINK=args.think),
        )  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=30)
    result = report(read_stats(prefix), args.users, args.duration, args.workers)
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"load-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(
        json.dumps(
            {**result, "users": args.users, "duration_s": args.duration,
             "workers": args.workers, "think_s": args.think,
             "load_average_before": load_avg},
            indent=2,
        )
    )  # fmt: skip
    print(f"Raw figures: {out.relative_to(ROOT)}")
    if done.returncode not in (0, 1):  # locust exits 1 when any request failed
        sys.exit(done.returncode)


if __name__ == "__main__":
    main()
