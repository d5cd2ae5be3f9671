"""Code search: an immutable in-memory index per release, built once per process.

Releases never change after import, so an index keyed by release ids is always current and
needs no invalidation. Words are matched by prefix in any order against descriptions and
inclusion/index terms; codes with or without the dot and by prefix. Ranking: the exact code
first, then billable codes before headers, then shorter descriptions (a closer match).
"""

import heapq
import re
import threading
import unicodedata
from array import array
from bisect import bisect_left
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date

from codesets.models import Code, IndexEntry, Release

# Words coders type that the code titles spell out. Each expands to alternatives; every word
# of an alternative must match. The typed word itself is always tried too.
ABBREVIATIONS: dict[str, list[str]] = {
    "abd": ["abdominal", "abdomen"],
    "afib": ["atrial fibrillation"],
    "aki": ["acute kidney failure", "acute kidney injury"],
    "ards": ["acute respiratory distress"],
    "bilat": ["bilateral"],
    "bph": ["benign prostatic hyperplasia", "enlarged prostate"],
    "ca": ["malignant neoplasm", "carcinoma", "cancer"],
    "cabg": ["bypass coronary artery"],
    "cad": ["atherosclerotic heart disease", "coronary artery disease"],
    "chf": ["heart failure", "congestive heart"],
    "chole": ["gallbladder"],
    "ckd": ["chronic kidney disease"],
    "copd": ["chronic obstructive pulmonary", "chronic obstructive lung"],
    "cp": ["chest pain"],
    "cva": ["cerebral infarction", "stroke"],
    "dm": ["diabetes mellitus", "diabetes"],
    "dvt": ["deep vein thrombosis", "thrombosis deep vein", "embolism thrombosis deep"],
    "esrd": ["end stage renal disease"],
    "fx": ["fracture"],
    "gerd": ["gastro esophageal reflux"],
    "gi": ["gastrointestinal"],
    "ha": ["headache"],
    "hld": ["hyperlipidemia"],
    "htn": ["hypertension", "hypertensive"],
    "hx": ["history"],
    "inj": ["injury"],
    "lac": ["laceration"],
    "lap": ["percutaneous endoscopic", "laparoscopic"],
    "lt": ["left"],
    "mi": ["myocardial infarction"],
    "oa": ["osteoarthritis"],
    "osa": ["obstructive sleep apnea"],
    "pe": ["pulmonary embolism"],
    "pna": ["pneumonia"],
    "ra": ["rheumatoid arthritis"],
    "rt": ["right"],
    "sob": ["shortness of breath"],
    "sz": ["seizure"],
    "t1dm": ["type 1 diabetes"],
    "t2dm": ["type 2 diabetes"],
    "tia": ["transient cerebral ischemic"],
    "uri": ["upper respiratory infection"],
    "uti": ["urinary tract infection"],
    # Words of the chart that the code titles say differently.
    "distal": ["lower end"],
    "proximal": ["upper end"],
    "leg": ["lower limb", "lower leg"],
    "arm": ["upper limb", "upper arm"],
    "cancer": ["malignant neoplasm"],
    "stroke": ["cerebral infarction"],
    "heart attack": ["myocardial infarction"],
    "appendectomy": ["resection appendix", "excision appendix"],
    "cholecystectomy": ["resection gallbladder"],
    "colonoscopy": ["inspection lower intestinal tract"],
    "cesarean": ["extraction products conception"],
    "csection": ["extraction products conception"],
    "hemodialysis": ["performance urinary filtration", "hemodialysis"],
    "dialysis": ["performance urinary filtration", "dialysis"],
    "ultrasound": ["ultrasonography"],
    "ventilation": ["respiratory ventilation", "assistance respiratory"],
    "hernia": ["hernia", "inguinal region", "femoral region", "abdominal wall"],
    "stockings": ["stocking"],
}
_STOP_WORDS = {"of", "and", "the", "with", "in", "to", "for", "by", "or", "a", "an", "on", "nos"}
_WORD = re.compile(r"[a-z0-9]+")
_CODE_LIKE = re.compile(r"^[A-Z][0-9][0-9A-Z]{0,5}(\.[0-9A-Z]{0,4})?-?$|^[0-9A-HJ-NP-Z]{3,7}$")
_CACHE_SIZE = 12
# The 7th-character suffixes of ICD-10-CM titles; they say nothing about the match.
_EPISODE = re.compile(r", (initial encounter|subsequent encounter|sequela).*$", re.IGNORECASE)


def words(text: str) -> list[str]:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    text = text.replace("'s", "")
    return _WORD.findall(text)


def normalize_code(text: str) -> str:
    return text.strip().upper().replace(".", "").rstrip("-")


_EPISODE_ORDER = {"initial": 0, "subsequent": 1, "sequela": 2}


def _static_rank(entry: tuple) -> tuple:
    """Billable codes (and index lines) first, then fewer title words (a closer match), then
    initial encounters before subsequent ones and sequelae, then code order."""
    code, _display, description, billable, _kind, _terms, source, sort_key = entry
    episode = _EPISODE.search(description)
    title = description[: episode.start()] if episode else description
    episode_rank = _EPISODE_ORDER[episode.group(1).split()[0].lower()] if episode else 0
    title_words = sum(1 for w in words(title) if w not in _STOP_WORDS)
    return (not (billable or source != "code"), title_words, episode_rank, sort_key, code)


@dataclass(frozen=True)
class Hit:
    system: str
    code: str
    description: str
    billable: bool
    kind: str
    source: str = "code"  # or the index table it came from

    def as_dict(self) -> dict:
        return {
            "system": self.system,
            "code": self.code,
            "description": self.description,
            "billable": self.billable,
        }


class _WordIndex:
    """Sorted vocabulary with posting lists: any word or word prefix maps to its entries."""

    def __init__(self, postings: dict[str, list[int]]):
        self.vocabulary = sorted(postings)
        self.postings = [array("I", postings[w]) for w in self.vocabulary]
        self._cache: dict[tuple[str, bool], frozenset[int]] = {}

    def _lookup(self, word: str, whole: bool) -> frozenset[int]:
        key = (word, whole)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        start = bisect_left(self.vocabulary, word)
        matched: set[int] = set()
        for i in range(start, len(self.vocabulary)):
            if not self.vocabulary[i].startswith(word):
                break
            matched.update(self.postings[i])
            if whole:
                break
        result = (
            frozenset(matched)
            if not whole or (start < len(self.vocabulary) and self.vocabulary[start] == word)
            else frozenset()
        )
        if len(self._cache) > 5000:
            self._cache.clear()
        self._cache[key] = result
        return result

    def phrase(self, phrase: str, whole: bool) -> frozenset[int]:
        result: frozenset[int] | None = None
        for word in words(phrase):
            if word in _STOP_WORDS:
                continue
            matched = self.literal(word, whole)
            result = matched if result is None else result & matched
            if not result:
                return frozenset()
        return result or frozenset()

    def literal(self, word: str, whole: bool) -> frozenset[int]:
        """The word as typed: a whole word, or a prefix (plural typed for a singular title)."""
        if whole:
            return self._lookup(word, True)
        matched = self._lookup(word, False)
        if len(word) > 3 and word.endswith("s"):
            singular = word[:-3] + "y" if word.endswith("ies") else word[:-1]
            matched = matched | self._lookup(singular, False)
        return matched

    def word(self, word: str, whole: bool = False) -> frozenset[int]:
        key = (f"word:{word}", whole)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        # Short abbreviations match only as whole words: "uti" must not find "utilities".
        literal_whole = whole or (word in ABBREVIATIONS and len(word) <= 4)
        matched = self.literal(word, literal_whole)
        for alternative in ABBREVIATIONS.get(word, []):
            matched = matched | self.phrase(alternative, whole)
        self._cache[key] = matched
        return matched

    def all_of(self, terms: list[str], whole: bool = False) -> set[int]:
        # Most selective word first keeps the intersection small.
        sets = sorted((self.word(t, whole) for t in terms), key=len)
        result = set(sets[0])
        for other in sets[1:]:
            result &= other
            if not result:
                break
        return result


class ReleaseIndex:
    """Everything needed to answer a query for one set of releases, in memory."""

    def __init__(self, system: str, entries: list[tuple]):
        # entries: (code, display, description, billable, kind, terms, source, sort key)
        self.system = system
        entries.sort(key=_static_rank)
        self.entries = entries
        title_postings: dict[str, list[int]] = {}
        all_postings: dict[str, list[int]] = {}
        for idx, (_code, _display, description, _b, _k, terms, _s, _o) in enumerate(entries):
            title_words = set(words(description))
            for word in title_words:
                title_postings.setdefault(word, []).append(idx)
            for word in title_words | set(words(terms)):
                all_postings.setdefault(word, []).append(idx)
        self.titles = _WordIndex(title_postings)
        self.everything = _WordIndex(all_postings)
        code_rows = sorted(
            (entry[0], idx) for idx, entry in enumerate(entries) if entry[6] == "code"
        )
        self.codes = [c for c, _ in code_rows]
        self.code_entry = [i for _, i in code_rows]

    # -- words --------------------------------------------------------------------------

    def search_words(self, query: str, limit: int) -> list[int]:
        terms = [w for w in words(query) if w not in _STOP_WORDS] or words(query)
        if not terms:
            return []
        found = self.everything.all_of(terms)
        if not found:
            return []
        # Relevance tiers: titles holding every word whole ("influenza", not "influenzae"),
        # then titles matching by prefix, then codes found only through an inclusion or index
        # term ("bronze diabetes" should not lead a "diabetes" search).
        in_title = self.titles.all_of(terms) & found
        whole_words = self.titles.all_of(terms, whole=True) & in_title
        ranked: list[int] = []
        for tier in (whole_words, in_title - whole_words, found - in_title):
            if len(ranked) >= limit:
                break
            ranked += heapq.nsmallest(limit - len(ranked), tier)
        return ranked

    # -- codes --------------------------------------------------------------------------

    def search_code(self, query: str, limit: int) -> list[int]:
        code = normalize_code(query)
        if not code:
            return []
        start = bisect_left(self.codes, code)
        exact: list[int] = []
        billable: list[int] = []
        headers: list[int] = []
        for i in range(start, len(self.codes)):
            if not self.codes[i].startswith(code):
                break
            idx = self.code_entry[i]
            if self.codes[i] == code:
                exact.append(idx)
            elif self.entries[idx][3]:
                billable.append(idx)
            else:
                headers.append(idx)
            if len(billable) >= limit and len(headers) >= limit:
                break
        return (exact + billable + headers)[:limit]

    def search(self, query: str, limit: int = 20) -> list[int]:
        query = query.strip()
        if not query:
            return []
        if (
            all(_CODE_LIKE.match(part.upper()) for part in query.split())
            and len(query.split()) == 1
        ):
            found = self.search_code(query, limit)
            if found:
                return found
        return self.search_words(query, limit)

    def hit(self, idx: int) -> Hit:
        _code, display, description, billable, kind, _terms, source, _order = self.entries[idx]
        return Hit(self.system, display, description, billable, kind, source)


_indexes: OrderedDict[tuple[int, ...], ReleaseIndex] = OrderedDict()
_lock = threading.Lock()

# Index tables searched with ICD-10-CM: "acetaminophen poisoning accidental" finds T39.1X1-.
_TABLE_SYSTEMS = {"icd10cm": ["icd10cm-drugs", "icd10cm-neoplasm", "icd10cm-eindex"]}
_TABLE_TITLES = {
    IndexEntry.Table.DRUG: "Table of Drugs",
    IndexEntry.Table.NEOPLASM: "Neoplasm Table",
    IndexEntry.Table.EXTERNAL_CAUSE: "External Cause Index",
}


def _load_entries(system: str, releases: list[Release]) -> list[tuple]:
    code_release, *table_releases = releases
    entries: list[tuple] = [
        (code, display, description, billable, kind, terms, "code", order)
        for code, display, description, billable, kind, terms, order in Code.objects.filter(
            release=code_release
        ).values_list(
            "code", "display", "description", "billable", "kind", "search_terms", "sort_key"
        )
    ]
    for release in table_releases:
        rows = IndexEntry.objects.filter(release=release).values_list(
            "table", "path", "column", "code", "sort_key"
        )
        for table, path, column, code, order in rows:
            title = f"{_TABLE_TITLES.get(table, table)}: {path}" + (
                f" — {column}" if column else ""
            )
            entries.append((normalize_code(code), code, title, False, "index", "", table, order))
    return entries


def index_for(system: str, releases: list[Release]) -> ReleaseIndex:
    key = tuple(r.pk for r in releases)
    with _lock:
        index = _indexes.get(key)
        if index is not None:
            _indexes.move_to_end(key)
            return index
    built = ReleaseIndex(system, _load_entries(system, releases))
    with _lock:
        _indexes[key] = built
        while len(_indexes) > _CACHE_SIZE:
            _indexes.popitem(last=False)
    return built


class NoReleaseInForce(LookupError):
    pass


def releases_for_search(system: str, on: date | None) -> list[Release]:
    from codesets.selectors import releases_in_force

    tables = _TABLE_SYSTEMS.get(system, [])
    in_force = releases_in_force(systems=[system, *tables], on=on)
    if system not in in_force:
        raise NoReleaseInForce(
            f"No {system} release is in force on {on or 'today'}; import or activate one."
        )
    return [in_force[system], *[in_force[t] for t in tables if t in in_force]]


def code_search(*, system: str, query: str, limit: int = 20, on: date | None = None) -> list[Hit]:
    """Search one system's release in force on a date (default today)."""
    limit = max(1, min(limit, 200))
    index = index_for(system, releases_for_search(system, on))
    return [index.hit(i) for i in index.search(query, limit)]


_warm_started = threading.Event()
WARM_SYSTEMS = ("icd10cm", "icd10pcs", "hcpcs")


def warm_indexes() -> None:
    """Build today's indexes so the first coder's keystroke does not pay for it."""
    from django.db import connection

    try:
        for system in WARM_SYSTEMS:
            try:
                index_for(system, releases_for_search(system, None))
            except NoReleaseInForce:
                continue
    finally:
        connection.close()


def warm_in_background(**_kwargs) -> None:
    """request_started receiver: the first request of a process starts the warm-up thread."""
    if _warm_started.is_set():
        return
    _warm_started.set()
    threading.Thread(target=warm_indexes, name="search-warm-up", daemon=True).start()
