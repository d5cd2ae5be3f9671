#!/usr/bin/env python
"""Coding assistant latency: suggestions for a 2-page note, p50/p95 after warm-up.

    python bench/assist_bench.py [--limit 250] [--json]

Each CodiEsp dev note (English) is padded to about two pages (~6,000 characters) by joining
it with the following dev notes, then run through encounters.assist.services.suggest_text —
what the Celery task does per document (medspaCy sections + ConText, candidates from the
ICD-10-CM release in force, ranking). The first note warms the indexes and the pipeline and is
not counted. Uses DATABASE_URL (a database with the ICD-10-CM release imported).
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coding_bench.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/coding_bench_bench")

TWO_PAGES = 6000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=250, help="dev notes to time")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import django

    django.setup()
    from encounters.assist.evaluation import load_split
    from encounters.assist.services import suggest_text

    texts = [d["text"] for d in load_split("dev")]
    notes = []
    for i in range(min(args.limit, len(texts))):
        note, j = texts[i], i + 1
        while len(note) < TWO_PAGES:
            note += "\n\n" + texts[j % len(texts)]
            j += 1
        notes.append(note[: TWO_PAGES + 2000])
    started = time.perf_counter()
    suggest_text(notes[0])
    warm_up = time.perf_counter() - started
    times = []
    for note in notes[1:]:
        started = time.perf_counter()
        suggest_text(note)
        times.append(time.perf_counter() - started)
    times.sort()
    result = {
        "notes": len(times),
        "chars_mean": round(statistics.mean(len(n) for n in notes)),
        "warm_up_s": round(warm_up, 2),
        "p50_s": round(times[len(times) // 2], 3),
        "p95_s": round(times[int(len(times) * 0.95) - 1], 3),
        "max_s": round(times[-1], 3),
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
