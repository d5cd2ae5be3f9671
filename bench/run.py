#!/usr/bin/env python
"""`make bench`: code search latency and release import time, on PostgreSQL.

    python bench/run.py [--skip-import] [--skip-search] [--show]

It sets itself up: DATABASE_URL if set, else postgres://postgres@127.0.0.1:5432/coding_bench_bench
(created and migrated when missing), then `codesets bootstrap` (idempotent: slow the first
time only). The import benchmark runs in a child process against a throwaway database,
coding_bench_bench_import on the same server, dropped and recreated each run, so it times a
real first import. See bench/README.md for what the figures mean.
"""

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/coding_bench_bench"
IMPORT_DATABASE = "coding_bench_bench_import"
IMPORT_SOURCES = ["icd10cm-2026-april", "icd10pcs-2026"]
TARGET_P95_MS = 20.0
TARGET_IMPORT_S = 60.0
RESULTS_DIR = ROOT / "bench" / "results"
DROP = "DROP DATABASE IF EXISTS {} WITH (FORCE)"

# The bench is a local tool: DEBUG on (no SECRET_KEY needed), its own scratch folder for the
# file cache and copied release files, never the app's var/.
os.environ["DEBUG"] = "1"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coding_bench.settings")
os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
os.environ.setdefault(
    "CODING_BENCH_VAR_DIR", str(Path(tempfile.gettempdir()) / "coding_bench_bench_var")
)


# -- database housekeeping (plain psycopg, before Django connects) ---------------------------


def _db_params(url: str) -> dict:
    import dj_database_url

    cfg = dj_database_url.parse(url)
    if cfg["ENGINE"] != "django.db.backends.postgresql":
        sys.exit(f"The benchmark runs on PostgreSQL; DATABASE_URL is {cfg['ENGINE']}.")
    return {
        "dbname": cfg["NAME"],
        "user": cfg.get("USER") or None,
        "password": cfg.get("PASSWORD") or None,
        "host": cfg.get("HOST") or None,
        "port": cfg.get("PORT") or None,
    }


def _maintenance_connection(params: dict):
    import psycopg

    conn_params = {k: v for k, v in params.items() if v and k != "dbname"}
    return psycopg.connect(dbname="postgres", autocommit=True, **conn_params)


def database_ensure(url: str) -> bool:
    """Create the database when it does not exist. True when it was created."""
    from psycopg import sql

    params = _db_params(url)
    with _maintenance_connection(params) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [params["dbname"]]
        ).fetchone()
        if exists:
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(params["dbname"])))
        return True


def database_recreate(url: str, name: str) -> str:
    """Drop and create a throwaway database on the same server; returns its URL."""
    from psycopg import sql

    if not name.startswith("coding_bench_bench"):
        raise ValueError(f"Refusing to drop {name!r}: not a benchmark database.")
    params = _db_params(url)
    with _maintenance_connection(params) as conn:
        conn.execute(sql.SQL(DROP).format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


def database_drop(url: str, name: str) -> None:
    from psycopg import sql

    if not name.startswith("coding_bench_bench"):
        raise ValueError(f"Refusing to drop {name!r}: not a benchmark database.")
    with _maintenance_connection(_db_params(url)) as conn:
        conn.execute(sql.SQL(DROP).format(sql.Identifier(name)))


# -- figures ---------------------------------------------------------------------------------


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (p95 of 60 values is the 57th smallest)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))  # ceil
    return ordered[int(rank) - 1]


def summary(values: list[float]) -> dict:
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "max": max(values) if values else float("nan"),
    }


def rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


# -- import benchmark (child process, throwaway database) ------------------------------------


def import_child() -> None:
    """Runs with DATABASE_URL pointing at the fresh import database; prints one JSON line."""
    import django

    django.setup()
    from django.core.management import call_command

    from codesets import services
    from codesets.models import Code, CodeNote, NoteReference, PcsAxisValue, SeventhCharacter

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    results: dict = {"migrate_s": time.perf_counter() - started, "imports": []}
    for key in IMPORT_SOURCES:
        source = services.bundled_source_get(key)
        t0 = time.perf_counter()
        release, _ = services.release_register_bundled(source=source)
        t1 = time.perf_counter()
        release = services.release_import_now(release=release)
        t2 = time.perf_counter()
        results["imports"].append(
            {
                "key": key,
                "label": release.label,
                "status": release.status,
                "error": release.error,
                "register_s": t1 - t0,
                "import_s": t2 - t1,
                "total_s": t2 - t0,
                "rows": release.row_count,
                "codes": Code.objects.filter(release=release).count(),
                "notes": CodeNote.objects.filter(code__release=release).count(),
                "note_references": NoteReference.objects.filter(release=release).count(),
                "seventh_characters": SeventhCharacter.objects.filter(
                    code__release=release
                ).count(),
                "pcs_axis_values": PcsAxisValue.objects.filter(release=release).count(),
            }
        )
    print("BENCH-RESULT " + json.dumps(results))


def import_benchmark(url: str) -> dict:
    print(f"\n== Import benchmark: fresh database {IMPORT_DATABASE} ==", flush=True)
    import_url = database_recreate(url, IMPORT_DATABASE)
    env = dict(os.environ, DATABASE_URL=import_url)
    try:
        proc = subprocess.run(
            [sys.executable, __file__, "--import-child"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
    finally:
        database_drop(url, IMPORT_DATABASE)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("BENCH-RESULT ")]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        sys.exit(f"The import benchmark failed (exit {proc.returncode}).")
    results = json.loads(lines[-1].removeprefix("BENCH-RESULT "))
    print(f"migrate (schema only, not counted): {results['migrate_s']:.1f} s")
    header = (
        f"{'release':<30} {'status':<9} {'rows':>9} {'codes':>7} {'notes':>7} "
        f"{'refs':>7} {'7th':>6} {'axes':>6} {'register':>8} {'import':>7} {'total s':>8}  target"
    )
    print(header)
    print("-" * len(header))
    for r in results["imports"]:
        verdict = "ok" if r["total_s"] < TARGET_IMPORT_S and r["status"] == "imported" else "MISSED"
        print(
            f"{r['label']:<30} {r['status']:<9} {r['rows']:>9,} {r['codes']:>7,} "
            f"{r['notes']:>7,} {r['note_references']:>7,} {r['seventh_characters']:>6,} "
            f"{r['pcs_axis_values']:>6,} {r['register_s']:>8.1f} {r['import_s']:>7.1f} "
            f"{r['total_s']:>8.1f}  < {TARGET_IMPORT_S:.0f} s {verdict}"
        )
        if r["error"]:
            print(f"  error: {r['error']}")
    return results


# -- search benchmark ------------------------------------------------------------------------


def orm_search(*, system: str, query: str, limit: int = 20, on=None) -> list[tuple]:
    """The baseline: what a plain ORM search would do over the same rows.

    Every word must appear in the description (icontains), or the code starts with the
    query; billable first, then release order; 20 rows.
    """
    from django.db.models import Q

    from codesets.models import Code
    from codesets.search import _STOP_WORDS, normalize_code, words
    from codesets.selectors import release_in_force

    release = release_in_force(system=system, on=on)
    terms = [w for w in words(query) if w not in _STOP_WORDS] or words(query)
    by_words = Q()
    for term in terms:
        by_words &= Q(description__icontains=term)
    condition = Q(code__startswith=normalize_code(query))
    if terms:
        condition |= by_words
    return list(
        Code.objects.filter(condition, release=release)
        .order_by("-billable", "sort_key")
        .values_list("display", "description", "billable")[:limit]
    )


def prefix_caches_clear(index) -> None:
    """Empty the index's per-prefix caches (internals: tolerant of how the index is laid out)."""
    for obj in [index, *vars(index).values()]:
        for name, value in vars(obj).items() if hasattr(obj, "__dict__") else []:
            if "cache" in name and isinstance(value, dict):
                value.clear()


def search_benchmark(show: bool) -> dict:
    from django.db import reset_queries
    from queries import QUERIES, WARM_UP

    from codesets.search import NoReleaseInForce, code_search, index_for, releases_for_search

    print("\n== Search benchmark ==", flush=True)
    results: dict = {"systems": {}, "skipped": {}}
    for system, queries in QUERIES.items():
        try:
            releases = releases_for_search(system, None)
        except NoReleaseInForce as exc:
            note = (
                f"SKIPPED {system}: {exc} (HCPCS comes from the CMS files in ../shared/data "
                "once bootstrap can import them)"
                if system == "hcpcs"
                else f"SKIPPED {system}: {exc}"
            )
            print(note)
            results["skipped"][system] = str(exc)
            continue
        gc.collect()
        rss_before = rss_mb()
        t0 = time.perf_counter()
        index = index_for(system, releases)
        build_s = time.perf_counter() - t0
        rss_after = rss_mb()
        for query in WARM_UP[system]:
            code_search(system=system, query=query, limit=20)
            orm_search(system=system, query=query, limit=20)

        def timed(fn, query, system=system):
            start = time.perf_counter()
            hits = fn(system=system, query=query, limit=20)
            elapsed = (time.perf_counter() - start) * 1000
            reset_queries()
            return elapsed, hits

        first, repeat, baseline = [], [], []
        empty_index = empty_orm = 0
        per_query = []
        gc.collect()
        for query in queries:
            ms, hits = timed(code_search, query)
            first.append(ms)
            empty_index += not hits
            per_query.append((query, ms, hits[0].code if hits else "—", len(hits)))
        for query in queries:
            repeat.append(timed(code_search, query)[0])
        # The release lookup alone: the database queries code_search makes on every call.
        lookup = []
        for _query in queries:
            start = time.perf_counter()
            releases_for_search(system, None)
            lookup.append((time.perf_counter() - start) * 1000)
            reset_queries()
        # The in-memory part alone (what code_search does after looking up the releases),
        # with the index's per-prefix cache emptied so each query is again seen first time.
        prefix_caches_clear(index)
        inner = []
        for query in queries:
            start = time.perf_counter()
            [index.hit(i) for i in index.search(query, 20)]
            inner.append((time.perf_counter() - start) * 1000)
        for i, query in enumerate(queries):
            ms, rows = timed(orm_search, query)
            baseline.append(ms)
            empty_orm += not rows
            per_query[i] += (ms, rows[0][0] if rows else "—")
        if show:
            print(f"\n{system}: query, code_search ms, top hit (hits), ORM ms, ORM top row")
            for query, ms, top, n, orm_ms, orm_top in per_query:
                print(f"  {query:<45} {ms:7.2f}  {top:<10} ({n:>2})  {orm_ms:8.2f}  {orm_top}")
        results["systems"][system] = {
            "release": " + ".join(r.label for r in releases),
            "entries": len(index.entries),
            "index_build_s": build_s,
            "index_rss_mb": rss_after - rss_before,
            "first": first,
            "repeat": repeat,
            "inner": inner,
            "lookup": lookup,
            "baseline": baseline,
            "empty_index": empty_index,
            "empty_orm": empty_orm,
        }
    _print_search_table(results)
    return results


def _print_search_table(results: dict) -> None:
    systems = results["systems"]
    if not systems:
        print("No system could be searched.")
        return
    print("\nIndex build (one-time per process and release; not in the latencies below):")
    for system, r in systems.items():
        print(
            f"  {system:<9} {r['entries']:>7,} entries  {r['index_build_s']:5.1f} s  "
            f"~{r['index_rss_mb']:.0f} MB RSS  ({r['release']})"
        )
    print(
        "\nServer-side latency per query, ms, limit 20. code_search = codesets.search.code_search "
        "(release lookup + in-memory index),\nfirst time each query is seen; ORM = plain "
        "icontains/startswith query on the same rows (bench/README.md explains both)."
    )
    header = (
        f"{'system':<9} {'queries':>7} | {'code_search p50':>15} {'p95':>6} {'max':>6} | "
        f"{'ORM p50':>8} {'p95':>7} {'max':>7} | {'ORM/code_search p50':>19} {'p95':>5} | "
        f"{'no hits':>7} {'ORM':>4}"
    )
    rows = list(systems.items())
    keys = ("first", "repeat", "inner", "lookup", "baseline")
    totals = {key: [v for _, r in rows for v in r[key]] for key in keys}
    totals["empty_index"] = sum(r["empty_index"] for _, r in rows)
    totals["empty_orm"] = sum(r["empty_orm"] for _, r in rows)
    print(header)
    print("-" * len(header))
    for name, r in [*rows, ("overall", totals)]:
        f, b = summary(r["first"]), summary(r["baseline"])
        print(
            f"{name:<9} {f['n']:>7} | {f['p50']:>15.2f} {f['p95']:>6.2f} {f['max']:>6.1f} | "
            f"{b['p50']:>8.2f} {b['p95']:>7.2f} {b['max']:>7.1f} | "
            f"{b['p50'] / f['p50']:>18.0f}x {b['p95'] / f['p95']:>4.0f}x | "
            f"{r['empty_index']:>7} {r['empty_orm']:>4}"
        )
    print(
        "\nWhere the time goes, ms: release lookup = releases_for_search (database); "
        "in-memory = index.search + hits;\nrepeat = code_search again (prefix cache warm)."
    )
    header = (
        f"{'system':<9} | {'release lookup p50':>18} {'p95':>6} | "
        f"{'in-memory p50':>13} {'p95':>6} {'max':>6} | "
        f"{'repeat p50':>10} {'p95':>6} {'max':>6}"
    )
    print(header)
    print("-" * len(header))
    for name, r in [*rows, ("overall", totals)]:
        i, rp, lk = summary(r["inner"]), summary(r["repeat"]), summary(r["lookup"])
        print(
            f"{name:<9} | {lk['p50']:>18.2f} {lk['p95']:>6.2f} | "
            f"{i['p50']:>13.2f} {i['p95']:>6.2f} {i['max']:>6.1f} | "
            f"{rp['p50']:>10.2f} {rp['p95']:>6.2f} {rp['max']:>6.1f}"
        )
    all_first, all_repeat, all_base = totals["first"], totals["repeat"], totals["baseline"]
    overall = summary(all_first)
    verdict = "met" if overall["p95"] < TARGET_P95_MS else "MISSED"
    print(f"\nTarget p95 < {TARGET_P95_MS:.0f} ms (first sight, overall): {verdict}.")
    results["overall"] = {
        "index": overall,
        "repeat": summary(all_repeat),
        "in_memory": summary(totals["inner"]),
        "release_lookup": summary(totals["lookup"]),
        "baseline": summary(all_base),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-import", action="store_true", help="Only the search benchmark.")
    parser.add_argument("--skip-search", action="store_true", help="Only the import benchmark.")
    parser.add_argument("--show", action="store_true", help="Print every query and its top hit.")
    parser.add_argument("--import-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.import_child:
        import_child()
        return

    url = os.environ["DATABASE_URL"]
    params = _db_params(url)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"Coding Bench benchmark — {datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} CPUs, "
        f"load average {load} (other work on the machine slows every figure)"
    )
    print(f"database {params['dbname']} on {params['host'] or 'local socket'}")
    report: dict = {
        "started": datetime.now().isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "load_average_at_start": os.getloadavg(),
    }

    if not args.skip_import:
        report["import"] = import_benchmark(url)

    if not args.skip_search:
        created = database_ensure(url)
        import django

        django.setup()
        from django.core.management import call_command

        print(f"\n== Setting up {params['dbname']}{' (created)' if created else ''} ==", flush=True)
        call_command("migrate", verbosity=0, interactive=False)
        t0 = time.perf_counter()
        call_command("codesets", "bootstrap")
        print(
            f"bootstrap: {time.perf_counter() - t0:.1f} s "
            "(imports on the first run; later runs only checksum the sources)"
        )
        report["search"] = search_benchmark(args.show)

    report["load_average_at_end"] = os.getloadavg()
    print(f"\nload average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"bench-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(report, indent=2, default=str))
    print(f"\nRaw figures: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
