"""Candidate codes for a sentence: dictionary matching against the release in force.

The code search index (codesets.search) answers "which codes hold all these typed words"; a
note needs the reverse, "which code names are fully spelled out in this sentence". Each code
title and inclusion term becomes a name: its content words, with the parts a title adds to say
"nothing more is known" removed ("Pneumonia, unspecified organism" is named by "pneumonia";
"Duodenal ulcer, ..., without hemorrhage or perforation" by "duodenal ulcer"). A name matches
when every one of its words is in the sentence; more words matched is a more specific code.
Chart abbreviations come from the search index's table (codesets.search.ABBREVIATIONS).

The index tables imported with the ICD-10-CM release (Table of Drugs, Neoplasm Table, External
Cause Index: `codesets bootstrap` loads them from CMS_DATA_DIR) name codes too: each line's
term path plus the words of its column ("Neoplasm > lung" in "Malignant Primary" is named by
"lung malignant"; chart words such as "carcinoma" or "metastasis" stand for the column). A
table line points at a code that may still need characters (C79.8-, T39.1X1-): it resolves to
a billable code as a header does.
"""

import re
import threading
from dataclasses import dataclass
from datetime import date

from codesets.search import ABBREVIATIONS, index_for, releases_for_search, words

# Words that carry no meaning on their own in a code title.
_GENERIC = {
    "of", "and", "the", "with", "in", "to", "for", "by", "or", "a", "an", "on", "nos", "other",
    "unspecified", "specified", "site", "type", "due", "as", "at", "from", "not", "elsewhere",
    "classified", "condition", "disease", "disorder", "disorders", "part", "its", "use",
    "encounter", "initial", "subsequent", "sequela", "without", "is", "be", "are", "essential",
    "approach", "mellitus",
}  # fmt: skip
# Comma-separated title parts that only say what is not known or not present.
_VAGUE_PART = re.compile(r"^\s*(unspecified|without|not elsewhere|nos\b|other\b|site unspec)")
_EPISODE = re.compile(r",\s*(initial encounter|subsequent encounter|sequela).*$", re.I)
_LATER_EPISODE = re.compile(r",\s*(subsequent encounter|sequela)", re.I)
_TOKEN = re.compile(r"[A-Za-z0-9]+")


# Chart words the procedure titles say differently (beyond codesets.search.ABBREVIATIONS).
CHART_WORDS: dict[str, list[str]] = {
    "laparoscopic": ["percutaneous endoscopic"],
    "laparoscopically": ["percutaneous endoscopic"],
    "biopsy": ["excision diagnostic"],
}
# Case-report shorthand the ICD-10-CM titles spell out (added to the search table's list).
MORE_ABBREVIATIONS: dict[str, list[str]] = {
    "hiv": ["human immunodeficiency virus"],
    "hcv": ["hepatitis c"],
    "hbv": ["hepatitis b"],
    "cmv": ["cytomegaloviral"],
    "ebv": ["epstein barr"],
    "ctx": ["computed tomography"],
    "dvt": ["deep vein thrombosis"],
    "ards": ["acute respiratory distress syndrome"],
    "nstemi": ["non st elevation myocardial infarction"],
    "stemi": ["st elevation myocardial infarction"],
    "af": ["atrial fibrillation"],
    # Spanish shorthand the machine translation of CodiEsp leaves in place.
    "hta": ["hypertension"],
    "hbp": ["benign prostatic hyperplasia"],
    "epoc": ["chronic obstructive pulmonary"],
    "erc": ["chronic kidney disease"],
    "irc": ["chronic kidney disease"],
    "vih": ["human immunodeficiency virus"],
    "tbc": ["tuberculosis"],
    "dlp": ["hyperlipidemia"],
    "itu": ["urinary tract infection"],
    "iam": ["acute myocardial infarction"],
    # Chart words the titles or their inclusion terms say differently.
    "adenopathy": ["enlarged lymph nodes"],
    "adenopathies": ["enlarged lymph nodes"],
    "lymphadenopathy": ["enlarged lymph nodes"],
    "lymphadenopathies": ["enlarged lymph nodes"],
    "lithiasis": ["calculus"],
    "stone": ["calculus"],
    "stones": ["calculus"],
    "nephrolithiasis": ["calculus kidney"],
    "pollakiuria": ["frequency micturition"],
    "dyslipidemia": ["hyperlipidemia"],
    "smoker": ["nicotine dependence"],
    "microhematuria": ["microscopic hematuria"],
    "dehydrated": ["dehydration"],
    "trauma": ["injury"],
    "traumatism": ["injury"],
    "asthenia": ["weakness"],
    "hyporexia": ["anorexia"],
    "urinary": ["urination"],
    "ihd": ["ischemic heart disease"],
    "ckd": ["chronic kidney disease"],
    "arf": ["acute kidney failure"],
    "pid": ["pelvic inflammatory disease"],
    "sle": ["systemic lupus erythematosus"],
    "tb": ["tuberculosis"],
    "ibd": ["inflammatory bowel disease"],
    "nhl": ["non hodgkin lymphoma"],
    "aml": ["acute myeloblastic leukemia"],
    "cll": ["chronic lymphocytic leukemia"],
    "febrile": ["fever"],
    "feverish": ["fever"],
    "vomit": ["vomiting"],
    "vomited": ["vomiting"],
    "painful": ["pain"],
    "aches": ["pain"],
    "ache": ["pain"],
    "dyspnoea": ["dyspnea"],
    "oedema": ["edema"],
    "haematuria": ["hematuria"],
    "anaemia": ["anemia"],
    "tumour": ["neoplasm"],
    "tumor": ["neoplasm"],
    "neoplasia": ["neoplasm"],
    "neoplastic": ["neoplasm"],
    "renal": ["kidney"],
    "hepatic": ["liver"],
    "pulmonary": ["lung"],
    "cardiac": ["heart"],
    "gastric": ["stomach"],
    "cerebral": ["brain"],
    "ocular": ["eye"],
}
# Chart words that stand for a column of the Neoplasm Table or the Table of Drugs.
TABLE_WORDS: dict[str, list[str]] = {
    "carcinoma": ["malignant"],
    "adenocarcinoma": ["malignant"],
    "cancer": ["malignant"],
    "malignancy": ["malignant"],
    "sarcoma": ["malignant"],
    "carcinomatosis": ["malignant"],
    "metastasis": ["secondary"],
    "metastases": ["secondary"],
    "metastatic": ["secondary"],
    "metastasize": ["secondary"],
    "overdose": ["poisoning"],
    "intoxication": ["poisoning"],
    "poisoned": ["poisoning"],
    "toxicity": ["adverse"],
    "suicide": ["intentional"],
    "suicidal": ["intentional"],
}
# Column words: what the chart must also say for a table line to name its code.
_COLUMN_WORDS = {
    "malignant, primary": {"malignant"},
    "malignant, secondary": {"secondary"},
    "ca in situ": {"situ"},
    "benign": {"benign"},
    "uncertain behavior": {"uncertain", "behavior"},
    "unspecified behavior": {"neoplasm"},
    "poisoning, accidental (unintentional)": {"poisoning"},
    "poisoning, intentional self-harm": {"poisoning", "intentional"},
    "poisoning, assault": {"poisoning", "assault"},
    "adverse effect": {"adverse"},
    "underdosing": {"underdosing"},
}
_TABLE_GENERIC = _GENERIC | {"see", "also", "neoplasm", "nec", "off", "out", "into", "than"}
_MAX_NAMES_PER_LINE = 8


def stem(word: str) -> str:
    """Crude, fast normalisation: plurals and a few adjective endings to one form."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


_PARENS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_WITHOUT = re.compile(r"\b(without|except)\b.*$", re.I)
_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4"}
_NUMBER_AFTER = {"type", "stage", "grade", "class", "degree", "phase", "level", "tier"}


_AND = re.compile(r"\b([a-z-]+) and ([a-z-]+)\b", re.I)


_AND_ONLY = re.compile(r"^\s*[a-z-]+ and [a-z-]+\s*$", re.I)


def and_variants(text: str) -> list[str]:
    """ "Anuria and oliguria" is coded for either word: the title with one side of each
    "X and Y" of single words left out ("intra-abdominal swelling", "pelvic swelling")."""
    title = _EPISODE.sub("", text).split(",")[0]
    found = _AND.search(title)
    if found is None or _WITHOUT.search(title[: found.start()]):
        return []
    left, right = found.group(1), found.group(2)
    return [
        title[: found.start()] + left + title[found.end() :],
        title[: found.start()] + right + title[found.end() :],
    ]


def name_words(text: str) -> frozenset[str]:
    # Parenthesised words are nonessential modifiers in ICD-10-CM; "without ..." is the default.
    text = _PARENS.sub(" ", _EPISODE.sub("", text))
    text = ",".join(_WITHOUT.sub("", part) for part in text.split(","))
    parts = [p for p in text.split(",") if not _VAGUE_PART.match(p)] or [text.split(",")[0]]
    return frozenset(stem(w) for w in words(" ".join(parts)) if w not in _GENERIC)


@dataclass(frozen=True)
class Name:
    entry: int  # index into the ReleaseIndex entries (a code row, never a table row)
    words: frozenset[str]
    is_title: bool
    source: str = "code"  # or the index table that named it: drug, neoplasm, eindex


@dataclass
class Token:
    stem: str
    start: int
    end: int
    position: int = 0  # the word's place in the sentence (alternatives share it)


def tokens(text: str, offset: int = 0) -> list[Token]:
    """Words of a sentence with their offsets; an abbreviation also yields its spelled-out
    words at the same offsets, so "htn" can match "hypertension"."""
    out: list[Token] = []
    previous = previous_word = ""
    previous_start = 0
    for position, m in enumerate(_TOKEN.finditer(text)):
        w = m.group(0).lower()
        start, end = m.start() + offset, m.end() + offset
        # A bare number is list numbering or a dose unless it follows "type", "stage"...
        number, previous = w.isdigit() and previous not in _NUMBER_AFTER, w
        if number:
            continue
        if previous_word in _NUMBER_AFTER and (w.isdigit() or w in _ROMAN):
            # "type 2", "stage 3": the quote starts at "type", which the name leaves out.
            start = previous_start
            if w in _ROMAN:  # "type II diabetes"
                out.append(Token(_ROMAN[w], start, end, position))
        out.append(Token(stem(w), start, end, position))
        previous_word, previous_start = w, start
        alternatives = (
            MORE_ABBREVIATIONS.get(w) or ABBREVIATIONS.get(w) or CHART_WORDS.get(w) or []
        )[:1] + TABLE_WORDS.get(w, [])
        for alternative in alternatives:
            out.extend(Token(stem(a), start, end, position) for a in words(alternative))
    return out


def _alternatives(part: str) -> list[frozenset[str]]:
    """An index term's comma-separated synonyms ("abdomen, abdominal"), each as its words."""
    part = _PARENS.sub(" ", part)
    found = []
    for piece in part.split(","):
        piece_words = frozenset(stem(w) for w in words(piece) if w not in _TABLE_GENERIC)
        if piece_words and piece_words not in found:
            found.append(piece_words)
    return found


def table_line_names(path: str, column: str, table: str) -> list[frozenset[str]]:
    """The word sets that name one line of an index table: one synonym per level of the
    term path, plus the column's words (see _COLUMN_WORDS)."""
    parts = path.split(" > ")
    if table == "neoplasm":
        parts = parts[1:]  # "Neoplasm, neoplastic": the column's words already say it
    levels = [level for level in (_alternatives(p) for p in parts) if level]
    if not levels:
        return []
    extra: set[str] = set()
    if column:
        key = column.strip().lower()
        if key not in _COLUMN_WORDS:
            return []  # "Poisoning, Undetermined" and the like: never a chart's words
        extra = _COLUMN_WORDS[key]
    names: list[frozenset[str]] = [frozenset(extra)]
    for level in levels:
        names = [n | alternative for n in names for alternative in level][:_MAX_NAMES_PER_LINE]
    # One-word names of a whole table ("Fall", "Acetaminophen" alone) are too loose for the
    # External Cause Index, whose codes need the circumstances.
    minimum = 2 if table == "eindex" else 1
    # The column's words alone ("Meckel diverticulum, malignant" read as "malignant") name
    # nothing: a line needs words of its own.
    return [n for n in names if len(n - extra) >= minimum]


class Matcher:
    """Names of one release indexed by their rarest word."""

    def __init__(self, index):
        self.index = index
        self.release_key: tuple = ()  # the releases' ids (matcher_for sets it)
        names: list[Name] = []
        code_rows = {e[0]: i for i, e in enumerate(index.entries) if e[6] == "code"}
        self.code_entries = code_rows  # normalised code -> its entry
        for idx, (code, _d, description, _b, _k, terms, source, _o) in enumerate(index.entries):
            if source != "code":
                target = code_rows.get(code)
                if target is not None:
                    path, column = _table_line(description)
                    for line_words in table_line_names(path, column, source):
                        names.append(Name(target, line_words, False, source))
                continue
            if _LATER_EPISODE.search(description):
                continue  # subsequent encounters and sequelae need context a note rarely has
            title = name_words(description)
            if title:
                names.append(Name(idx, title, True))
            for variant in and_variants(description):
                variant_words = name_words(variant)
                # One organ word alone ("kidney" of "kidney and ureter") names nothing.
                if len(variant_words) >= 2 or _AND_ONLY.match(description):
                    names.append(Name(idx, variant_words, False))
            for term in (terms or "").split("\n"):
                term_words = name_words(term)
                if term_words and term_words != title:
                    names.append(Name(idx, term_words, False))
        frequency: dict[str, int] = {}
        for name in names:
            for w in name.words:
                frequency[w] = frequency.get(w, 0) + 1
        self.by_word: dict[str, list[Name]] = {}
        for name in names:
            rarest = min(name.words, key=lambda w: (frequency[w], w))
            self.by_word.setdefault(rarest, []).append(name)
        self.frequency = frequency
        self.total = len(names)

    def match(self, sentence_tokens: list[Token]) -> list[tuple[Name, list[Token]]]:
        """Names spelled out in one sentence, each with the tokens that spell it: for every
        word the occurrence nearest the name's rarest word, so the evidence is the one
        compact phrase that matched, not words gathered from across a long sentence."""
        present: dict[str, list[Token]] = {}
        for token in sentence_tokens:
            present.setdefault(token.stem, []).append(token)
        found = []
        for w in present:
            for name in self.by_word.get(w, ()):
                matched = [x for x in name.words if x in present]
                # All words; or, for a code name of three words or more, all but its most
                # common one ("chronic renal failure" is not named by "chronic heart
                # failure": "renal" is the telling word). Table lines are matched whole:
                # their words are already the fewest that name them.
                if len(matched) != len(name.words) and not (
                    name.source == "code"
                    and len(name.words) >= 3
                    and len(matched) == len(name.words) - 1
                    and self._least_telling(name.words - set(matched), matched)
                ):
                    continue
                chosen = _compact(w, matched, present)
                if chosen is not None:
                    found.append((name, chosen))
        return found

    def _least_telling(self, missing: set[str], matched: list[str]) -> bool:
        (word,) = missing
        return self.frequency.get(word, 0) >= max(self.frequency.get(x, 0) for x in matched)

    def idf(self, word: str) -> float:
        import math

        return math.log((self.total + 1) / (self.frequency.get(word, 0) + 1))


# How far apart a name's words may be (in words of the sentence) beyond the name's own size.
_SLACK = 2


def _compact(anchor: str, matched: list[str], present: dict[str, list[Token]]):
    """For each matched word the occurrence nearest an occurrence of the anchor word; None
    when even the tightest choice spreads the words too far to be one phrase."""
    best = None
    for a in present[anchor]:
        chosen = [
            min(present[x], key=lambda t: abs(t.position - a.position)) if x != anchor else a
            for x in matched
        ]
        positions = [t.position for t in chosen]
        spread = max(positions) - min(positions) + 1
        if best is None or spread < best[0]:
            best = (spread, chosen)
    if best is None or best[0] > len(set(t.position for t in best[1])) + _SLACK:
        return None
    return best[1]


def _table_line(description: str) -> tuple[str, str]:
    """(term path, column) back out of a table row's search title
    ("Neoplasm Table: Neoplasm, neoplastic > lung — Malignant Primary")."""
    body = description.split(": ", 1)[-1]
    path, _, column = body.partition(" — ")
    return path, column


_matchers: dict[tuple[int, ...], Matcher] = {}
_lock = threading.Lock()


def matcher_for(system: str, on: date | None) -> Matcher:
    """The matcher of the release in force on a date: a code invalid then is never a name."""
    releases = releases_for_search(system, on)
    key = tuple(r.pk for r in releases)
    with _lock:
        found = _matchers.get(key)
    if found is None:
        found = Matcher(index_for(system, releases))
        found.release_key = key
        with _lock:
            _matchers[key] = found
            while len(_matchers) > 6:
                _matchers.pop(next(iter(_matchers)))
    return found
