#!/usr/bin/env python
"""Edits engine throughput: encounters checked per second, for two realistic shapes.

    python bench/edits_bench.py [--count 300] [--seed 7] [--json]

- outpatient hospital: 5 diagnoses, 4 HCPCS/CPT lines (IOCE, NCCI PTP/MUE hospital tables)
- inpatient: 15 diagnoses with POA, 3 ICD-10-PCS procedures (Medicare Code Editor)

Encounters are drawn at random from pools of common codes, so the per-release code caches warm
up as they would in use but each claim is new. Three passes per shape:

- cold:   a fresh process's first encounters (code caches empty: database reads included)
- warm:   new encounters after the warm-up (the steady state the target is about)
- repeat: the warm encounters checked again (the workspace re-checking an unchanged claim)

Then a machine-wide pass: one checking process per CPU (as web and Celery workers run in
production), all busy at once; its wall-clock rate is the figure the target is about. The
IOCE (pyoce) is pure Python and single-threaded, so one process alone stays near 130/s.

It uses the database bench/run.py sets up (DATABASE_URL, default the local PostgreSQL bench
database, with `codesets bootstrap` done); NCCI/HCPCS edits run only if those CMS releases
are active there. Target: >= 200 encounters/s for the whole check.
"""

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coding_bench.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/coding_bench_bench")
os.environ.setdefault(
    "CODING_BENCH_VAR_DIR", str(Path(tempfile.gettempdir()) / "coding_bench_bench_var")
)

TARGET_PER_SECOND = 200.0

OUTPATIENT_DX = [
    "E11.9",
    "E11.65",
    "E11.42",
    "E78.5",
    "I10",
    "I25.10",
    "I48.91",
    "J44.9",
    "J45.909",
    "M17.11",
    "M17.12",
    "M54.50",
    "M25.561",
    "M79.604",
    "N18.30",
    "K21.9",
    "R07.9",
    "R10.9",
    "R51.9",
    "Z79.4",
    "Z79.84",
    "Z79.01",
    "Z87.891",
    "F32.A",
    "F41.1",
    "G47.33",
    "E66.9",
    "Z68.30",
    "R53.83",
    "D64.9",
    "E03.9",
    "N39.0",
    "R31.9",
    "J06.9",
    "J02.9",
    "H52.13",
    "L40.0",
    "M19.90",
    "S52.501A",
    "S93.401A",
    "Z00.00",
    "Z12.31",
    "Z23",
    "R73.03",
    "E55.9",
    "K57.30",
    "K58.9",
    "I73.9",
    "R60.0",
    "M81.0",
]
OUTPATIENT_PX = [
    ("cpt", "20610", ["RT"]),
    ("cpt", "76942", []),
    ("cpt", "97110", []),
    ("cpt", "97140", ["59"]),
    ("cpt", "36415", []),
    ("cpt", "80053", []),
    ("cpt", "85025", []),
    ("cpt", "93000", []),
    ("cpt", "71046", []),
    ("cpt", "73562", ["LT"]),
    ("cpt", "96372", []),
    ("cpt", "99283", ["25"]),
    ("hcpcs", "G0463", []),
    ("hcpcs", "J1100", []),
    ("hcpcs", "J3301", []),
    ("hcpcs", "A4550", []),
    ("cpt", "29881", ["RT"]),
    ("cpt", "29877", []),
    ("cpt", "11042", []),
    ("cpt", "97597", []),
    ("cpt", "81001", []),
    ("cpt", "84443", []),
    ("cpt", "83036", []),
    ("cpt", "12002", []),
]
INPATIENT_DX = [
    "I50.21",
    "I50.23",
    "I50.33",
    "J18.9",
    "J96.01",
    "J96.11",
    "N17.9",
    "N18.4",
    "N18.6",
    "E87.1",
    "E87.2",
    "E87.6",
    "E11.22",
    "E11.65",
    "E11.9",
    "E78.5",
    "I10",
    "I12.9",
    "I13.0",
    "I25.10",
    "I48.91",
    "I48.19",
    "D62",
    "D64.9",
    "D69.6",
    "E44.0",
    "E66.01",
    "Z68.41",
    "A41.9",
    "R65.20",
    "R65.21",
    "K92.2",
    "K56.609",
    "K35.80",
    "K80.20",
    "N39.0",
    "B96.20",
    "L89.154",
    "G93.41",
    "F05",
    "F10.20",
    "F17.210",
    "G47.33",
    "J44.1",
    "J44.0",
    "J43.9",
    "Z79.01",
    "Z79.4",
    "Z95.1",
    "Z95.5",
    "Z86.73",
    "Z87.891",
    "Z99.2",
    "I63.9",
    "I69.351",
    "R13.10",
    "E86.0",
    "E83.42",
    "M62.81",
    "R26.89",
    "Z74.01",
    "Z91.81",
    "T81.4XXA",
    "Y83.2",
    "Y92.239",
]
INPATIENT_PX = [
    "0DTJ4ZZ",
    "02703DZ",
    "0SRD0J9",
    "0SR90J9",
    "5A1955Z",
    "5A1945Z",
    "0BH17EZ",
    "02HV33Z",
    "0DJ08ZZ",
    "3E033GC",
    "30233N1",
    "0W9930Z",
    "B548ZZA",
    "4A023N7",
    "0FT44ZZ",
    "0DB68ZX",
    "0T9B70Z",
    "5A1D70Z",
    "0JH606Z",
    "02100Z9",
]


def outpatient(rng: random.Random) -> dict:
    lines = rng.sample(OUTPATIENT_PX, 4)
    return {
        "encounter_type": rng.choice(["outpatient", "outpatient", "emergency"]),
        "service_date": "2026-04-15",
        "patient": {"age": rng.randint(18, 90), "sex": rng.choice("MF")},
        "diagnoses": [{"code": c} for c in rng.sample(OUTPATIENT_DX, 5)],
        "procedures": [
            {"system": s, "code": c, "modifiers": m, "units": rng.choice([1, 1, 1, 2])}
            for s, c, m in lines
        ],
    }


def inpatient(rng: random.Random) -> dict:
    return {
        "encounter_type": "inpatient",
        "admit_date": "2026-04-10",
        "discharge_date": "2026-04-15",
        "discharge_status": rng.choice(["01", "06", "03"]),
        "patient": {"age": rng.randint(40, 95), "sex": rng.choice("MF")},
        "diagnoses": [
            {"code": c, "poa": rng.choice("YYYNU")} for c in rng.sample(INPATIENT_DX, 15)
        ],
        "procedures": [{"system": "icd10pcs", "code": c} for c in rng.sample(INPATIENT_PX, 3)],
    }


def rate(encounters: list, check) -> tuple[float, int]:
    started = time.perf_counter()
    edits = 0
    for encounter in encounters:
        edits += len(check(encounter))
    return len(encounters) / (time.perf_counter() - started), edits


def _worker(shape: str, seed: int, count: int, ready, start, results) -> None:
    """One process of the machine-wide pass: like one web or Celery worker checking claims."""
    import django

    django.setup()
    from codesets.edits import check, encounter_from_json

    make = {"outpatient": outpatient, "inpatient": inpatient}[shape]
    rng = random.Random(seed)
    for _ in range(50):  # warm the per-release code caches, as a running worker has them
        check(encounter_from_json(make(rng)))
    claims = [encounter_from_json(make(rng)) for _ in range(count)]
    ready.wait()
    start.wait()
    for encounter in claims:
        check(encounter)
    results.put(time.perf_counter())


def machine_rate(shape: str, processes: int, count: int, seed: int) -> float:
    """Encounters/s with one checking process per CPU, all busy at once (wall clock)."""
    import multiprocessing

    from django.db import connections

    connections.close_all()
    context = multiprocessing.get_context("spawn")
    ready = context.Barrier(processes + 1)
    start = context.Barrier(processes + 1)
    results = context.Queue()
    workers = [
        context.Process(
            target=_worker, args=(shape, seed + i, count, ready, start, results), daemon=True
        )
        for i in range(processes)
    ]
    for worker in workers:
        worker.start()
    ready.wait()
    started = time.perf_counter()
    start.wait()
    finished = max(results.get() for _ in workers)
    for worker in workers:
        worker.join()
    return processes * count / (finished - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300, help="encounters per pass")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--processes",
        type=int,
        default=os.cpu_count() or 1,
        help="checking processes for the machine-wide pass (default: one per CPU)",
    )
    args = parser.parse_args()

    import django

    django.setup()
    import codesets.edits as edits_module
    from codesets.edits import check, encounter_from_json

    rng = random.Random(args.seed)
    results = {}
    for name, make in (("outpatient", outpatient), ("inpatient", inpatient)):
        cold = [encounter_from_json(make(rng)) for _ in range(min(50, args.count))]
        warm = [encounter_from_json(make(rng)) for _ in range(args.count)]
        cold_rate, _ = rate(cold, check)
        warm_rate, edits = rate(warm, check)
        repeat_rate, _ = rate(warm, check)
        # The IOCE (pyoce, pure Python) dominates outpatient checks: show the rest alone too.
        fresh = [encounter_from_json(make(rng)) for _ in range(args.count)]
        real_oce = edits_module.check_oce
        edits_module.check_oce = lambda encounter: []
        try:
            without_oce_rate, _ = rate(fresh, check)
        finally:
            edits_module.check_oce = real_oce
        machine = machine_rate(name, args.processes, args.count, args.seed + 100)
        results[name] = {
            "machine_per_s": round(machine, 1),
            "processes": args.processes,
            "cold_per_s": round(cold_rate, 1),
            "warm_per_s": round(warm_rate, 1),
            "repeat_per_s": round(repeat_rate, 1),
            "warm_without_ioce_per_s": round(without_oce_rate, 1),
            "edits_per_encounter": round(edits / len(warm), 1),
            "target_per_s": TARGET_PER_SECOND,
            "meets_target": machine >= TARGET_PER_SECOND,
        }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print("Edits engine: encounters checked per second")
    for name, row in results.items():
        verdict = "meets" if row["meets_target"] else "BELOW"
        print(
            f"  {name:<10} one process: cold {row['cold_per_s']:>7.1f}/s   warm "
            f"{row['warm_per_s']:>7.1f}/s   repeat {row['repeat_per_s']:>7.1f}/s   without IOCE "
            f"{row['warm_without_ioce_per_s']:>7.1f}/s   ({row['edits_per_encounter']} edits each)"
        )
        print(
            f"  {'':<10} machine ({row['processes']} processes): {row['machine_per_s']:>7.1f}/s"
            f"   {verdict} the {TARGET_PER_SECOND:.0f}/s target"
        )


if __name__ == "__main__":
    main()
