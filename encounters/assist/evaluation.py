"""CodiEsp-D on the English text: training the ranker and measuring it.

Metrics follow CodiEsp: MAP over documents (a document's average precision divided by its
number of gold codes, so a code never suggested counts as missed), and micro precision /
recall / F1 of the suggestions at or above the tuned threshold, at full code and at
3-character category. CodiEsp codes are the 2018 edition: a gold code missing from the
release in force is mapped to a billable code (its unspecified child, or its parent) when one
exists, else skipped; both are counted.
"""

import gzip
import json
import math
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings

from encounters.assist import ranking
from encounters.assist.candidates import matcher_for
from encounters.assist.lexicon import Lexicon, note_words
from encounters.assist.pipeline import analyse, features, prefer_specific

DATA_DIR = Path(settings.CMS_DATA_DIR) / "notes" / "codiesp"  # ../shared/data unless set


def _norm(code: str) -> str:
    return code.strip().upper().replace(".", "")


def load_split(split: str, path: Path | None = None) -> list[dict]:
    """[{"id", "text", "codes"}] of a CodiEsp split (jsonl.gz: id, text_en, diagnosis_codes)."""
    path = path or DATA_DIR / f"codiesp_v4_{split}.jsonl.gz"
    opener = gzip.open if str(path).endswith(".gz") else open
    documents = []
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                documents.append(
                    {
                        "id": row["id"],
                        "text": row.get("text_en") or row.get("text", ""),
                        "codes": row.get("diagnosis_codes") or row.get("codes", []),
                    }
                )
    return documents


class GoldMapper:
    """2018 CodiEsp codes onto the release in force: kept, mapped or skipped (counted)."""

    def __init__(self, matcher):
        self.index = matcher.index
        self.counts = Counter()

    def map(self, code: str) -> str | None:
        norm = _norm(code)
        found = self.index.search_code(norm, 40)
        entries = [self.index.entries[i] for i in found]
        exact = next((e for e in entries if e[0] == norm), None)
        if exact is not None and exact[3]:
            self.counts["kept"] += 1
            return norm
        children = [e for e in entries if e[3] and e[0].startswith(norm) and e[0] != norm]
        if children:
            chosen = next((e for e in children if "unspecified" in e[2].lower()), children[0])
            self.counts["mapped"] += 1
            return chosen[0]
        for cut in (1, 2):
            parent = norm[:-cut]
            if len(parent) < 3:
                break
            row = next((self.index.entries[i] for i in self.index.search_code(parent, 1)), None)
            if row is not None and row[0] == parent and row[3]:
                self.counts["mapped"] += 1
                return parent
        self.counts["skipped"] += 1
        return None


def average_precision(ranked: list[str], gold: set[str]) -> float:
    if not gold:
        return 0.0
    hits, total = 0, 0.0
    for k, code in enumerate(ranked, start=1):
        if code in gold:
            hits += 1
            total += hits / k
    return total / len(gold)


def micro(predicted: Iterable[set[str]], gold: Iterable[set[str]]) -> dict[str, float]:
    tp = fp = fn = 0
    for p, g in zip(predicted, gold, strict=True):
        tp += len(p & g)
        fp += len(p - g)
        fn += len(g - p)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def ranked_codes(candidates: list, model: dict) -> list[tuple[str, float]]:
    """(normalised code, confidence) best first: what evaluate scores."""
    scored = prefer_specific(
        [(c, ranking.score(features(c, model["priors"]), model["weights"])) for c in candidates]
    )
    ranked = [(_norm(c.code), confidence) for c, confidence in scored]
    ranked.sort(key=lambda pair: -pair[1])
    return ranked


def evaluate(documents: list[dict], model: dict | None = None, analysed=None) -> dict:
    """The metrics of a split; `analysed` (the pipeline's candidates per document) lets the
    tuning loop score many settings without reading the notes again."""
    model = model or ranking.load_model()
    mapper = GoldMapper(matcher_for("icd10cm", None))
    threshold = model.get("threshold", 0.5)
    aps, predicted, predicted3, gold, gold3 = [], [], [], [], []
    found = wanted_total = 0  # gold codes that are candidates at all, of all gold codes
    started = time.perf_counter()
    for i, document in enumerate(documents):
        wanted = {m for m in (mapper.map(c) for c in document["codes"]) if m}
        candidates = (
            analysed[i]
            if analysed is not None
            else analyse(document["text"], lexicon=Lexicon.from_model(model))
        )
        scored = ranked_codes(candidates, model)
        found += len(wanted & {c for c, _ in scored})
        wanted_total += len(wanted)
        aps.append(average_precision([c for c, _ in scored], wanted))
        chosen = {c for c, s in scored if s >= threshold}
        predicted.append(chosen)
        predicted3.append({c[:3] for c in chosen})
        gold.append(wanted)
        gold3.append({c[:3] for c in wanted})
    elapsed = time.perf_counter() - started
    return {
        "documents": len(documents),
        "map": round(sum(aps) / len(aps), 4) if aps else 0.0,
        "threshold": threshold,
        "code": micro(predicted, gold),
        "category": micro(predicted3, gold3),
        "candidate_recall": round(found / wanted_total, 4) if wanted_total else 0.0,
        "cases_per_second": round(len(documents) / elapsed, 2) if elapsed else None,
        "gold_codes": dict(mapper.counts),
    }


def _rows(documents: list[dict], priors_counts: Counter, n_docs: int, lexicon: Lexicon):
    """Feature rows and labels; each document's own codes are taken out of the priors it
    sees (leave-one-out), or the prior would simply memorise the training labels."""
    mapper = GoldMapper(matcher_for("icd10cm", None))
    rows, labels = [], []
    top = math.log1p(max(priors_counts.values()) or 1)
    for document in documents:
        wanted = {m for m in (mapper.map(c) for c in document["codes"]) if m}
        own = Counter({c for c in wanted} | {c[:3] for c in wanted})
        own_lexicon = lexicon.leaving_out(note_words(document["text"]), wanted)
        for candidate in analyse(document["text"], lexicon=own_lexicon):
            code = _norm(candidate.code)
            priors = {}
            for key in (code, code[:3]):
                count = priors_counts.get(key, 0) - own.get(key, 0)
                if count >= 2:
                    priors[candidate.code if key == code else key] = math.log1p(count) / top
            rows.append(features(candidate, priors))
            labels.append(int(code in wanted))
    return rows, labels


def train(train_docs: list[dict], dev_docs: list[dict], *, log=print) -> dict:
    """Fit on train, choose L2 and the threshold on dev (MAP, then F1), return the model."""
    mapper = GoldMapper(matcher_for("icd10cm", None))
    gold = [[m for m in (mapper.map(c) for c in d["codes"]) if m] for d in train_docs]
    counts: Counter = Counter()
    for codes in gold:
        counts.update({c for c in codes} | {c[:3] for c in codes})
    lexicon = Lexicon.learn([note_words(d["text"]) for d in train_docs], [set(c) for c in gold])
    log(f"{len(lexicon.entries)} words learned from {len(train_docs)} training documents")
    rows, labels = _rows(train_docs, counts, len(train_docs), lexicon)
    log(f"{len(rows)} candidate rows from {len(train_docs)} training documents")
    top = math.log1p(max(counts.values()))
    # Priors keyed by the code as displayed (with the dot) and by category.
    displayed = {}
    index = matcher_for("icd10cm", None).index
    for key, count in counts.items():
        if count < 2:
            continue
        if len(key) > 3:
            found = [index.entries[i] for i in index.search_code(key, 1)]
            key = found[0][1] if found and found[0][0] == key else key
        displayed[key] = round(math.log1p(count) / top, 3)
    dev_analysed = [analyse(d["text"], lexicon=lexicon) for d in dev_docs]
    best = None
    for l2 in (0.0, 0.001, 0.01):
        weights = ranking.fit(rows, labels, l2=l2)
        model = {
            "weights": weights,
            "priors": displayed,
            "threshold": 0.5,
            "lexicon": lexicon.as_json(),
        }
        result = evaluate(dev_docs, model, dev_analysed)
        log(f"l2={l2}: dev MAP {result['map']}")
        if best is None or result["map"] > best[0]:
            best = (result["map"], model)
    model = best[1]
    best_f1 = None
    for threshold in (0.1, 0.125, 0.15, 0.175, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5):
        model["threshold"] = threshold
        f1 = evaluate(dev_docs, model, dev_analysed)["code"]["f1"]
        log(f"threshold {threshold}: dev F1 {f1}")
        if best_f1 is None or f1 > best_f1[0]:
            best_f1 = (f1, threshold)
    model["threshold"] = best_f1[1]
    return model
