#!/usr/bin/env python
"""Release import throughput (rows/s) per code system, and the yearly ICD-10 update wall time.

    python bench/import_bench.py [--skip-ptp] [--json]

Runs in a child process against a throwaway PostgreSQL database, coding_bench_bench_imports on
the server of DATABASE_URL (default the local bench database of bench/run.py), dropped and
recreated each run, so every figure is a real first import. Each import goes through the
same path as the release pages: register the file (format check, checksum, copy) then the
Celery import task, run in-process.

- ICD-10-CM FY2025 (bundled; the release in force before the update)
- ICD-10-CM FY2026 April + ICD-10-PCS FY2026 (bundled): the "yearly update", imported and
  activated, timed end to end — target under 3 minutes
- HCPCS January 2026 (the CMS zip in ../shared/data, when present)
- NCCI PTP practitioner (the largest CMS file, 2.5 M pairs, when present)

Rows are every row a release brings (codes, notes, note references, 7th characters, PCS axis
values; edits for NCCI), as counted by the importer.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

os.environ["DEBUG"] = "1"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coding_bench.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/coding_bench_bench")
os.environ.setdefault(
    "CODING_BENCH_VAR_DIR", str(Path(tempfile.gettempdir()) / "coding_bench_bench_imports_var")
)
os.environ.setdefault("SEARCH_WARM_UP", "0")

DATABASE = "coding_bench_bench_imports"
TARGET_YEARLY_S = 180.0
RESULTS_DIR = ROOT / "bench" / "results"
HCPCS_FILE = ("hcpcs/january-2026-alpha-numeric-hcpcs-file.zip", "HCPCS 2026 January")
PTP_FILE = (
    "ncci/ncci_ptp_practitioner_v30.1r0_2024-04-01_from_northstar.csv.gz",
    "NCCI PTP practitioner 2024-04-01",
)


def _timed_import(register) -> dict:
    from codesets import services

    t0 = time.perf_counter()
    release, _ = register()
    t1 = time.perf_counter()
    release = services.release_import_now(release=release)
    t2 = time.perf_counter()
    return {
        "label": release.label,
        "system": release.system.slug,
        "status": release.status,
        "error": release.error,
        "rows": release.row_count,
        "register_s": t1 - t0,
        "import_s": t2 - t1,
        "rows_per_s": release.row_count / (t2 - t1) if t2 > t1 else 0.0,
        "release_id": release.pk,
    }


def child(skip_ptp: bool) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from codesets import services
    from codesets.models import Release

    call_command("migrate", verbosity=0, interactive=False)
    results: dict = {"imports": []}

    def bundled(key: str):
        return lambda: services.release_register_bundled(source=services.bundled_source_get(key))

    def cms(relative: str, label: str, system: str, when: date, setting: str | None = None):
        path = Path(settings.CMS_DATA_DIR) / relative
        if not path.is_file():
            return None
        return lambda: services.release_register_file(
            system=system, path=path, label=label, effective_from=when, setting=setting
        )

    before = _timed_import(bundled("icd10cm-2025"))
    services.release_activate(release=Release.objects.get(pk=before["release_id"]))
    results["imports"].append(before)

    # The yearly update: CM and PCS imported, then activated, one after the other.
    started = time.perf_counter()
    update = [_timed_import(bundled("icd10cm-2026-april")), _timed_import(bundled("icd10pcs-2026"))]
    for row in update:
        services.release_activate(release=Release.objects.get(pk=row["release_id"]))
    results["yearly_update_s"] = time.perf_counter() - started
    results["imports"].extend(update)

    for args in (
        (*HCPCS_FILE, "hcpcs", date(2026, 1, 1)),
        *(() if skip_ptp else ((*PTP_FILE, "ncci-ptp", date(2024, 4, 1), "practitioner"),)),
    ):
        register = cms(*args)
        if register is None:
            results.setdefault("skipped", []).append(f"{args[1]}: file not found")
            continue
        results["imports"].append(_timed_import(register))
    print("BENCH-RESULT " + json.dumps(results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-ptp", action="store_true", help="Leave out NCCI PTP (2.5 M).")
    parser.add_argument("--json", action="store_true", help="Print the raw figures as JSON.")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.skip_ptp)
        return

    from run import database_drop, database_recreate

    url = os.environ["DATABASE_URL"]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"Import benchmark — {datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} CPUs, "
        f"load average {load}; fresh database {DATABASE}",
        flush=True,
    )
    child_url = database_recreate(url, DATABASE)
    command = [sys.executable, __file__, "--child", *(["--skip-ptp"] if args.skip_ptp else [])]
    try:
        proc = subprocess.run(
            command,
            env=dict(os.environ, DATABASE_URL=child_url),
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
    finally:
        database_drop(url, DATABASE)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("BENCH-RESULT ")]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        sys.exit(f"The import benchmark failed (exit {proc.returncode}).")
    results = json.loads(lines[-1].removeprefix("BENCH-RESULT "))
    if args.json:
        print(json.dumps(results, indent=2))

    header = f"{'release':<36} {'status':<9} {'rows':>10} {'import s':>9} {'rows/s':>9}"
    print(header)
    print("-" * len(header))
    for r in results["imports"]:
        print(
            f"{r['label']:<36} {r['status']:<9} {r['rows']:>10,} {r['import_s']:>9.1f} "
            f"{r['rows_per_s']:>9,.0f}"
        )
        if r["error"]:
            print(f"  error: {r['error']}")
    for line in results.get("skipped", []):
        print(f"skipped: {line}")
    yearly = results["yearly_update_s"]
    verdict = "ok" if yearly < TARGET_YEARLY_S else "MISSED"
    print(
        f"\nYearly ICD-10 update (CM + PCS) imported and activated: {yearly:.1f} s "
        f"(target < {TARGET_YEARLY_S:.0f} s: {verdict})"
    )
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"import-bench-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"Raw figures: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
