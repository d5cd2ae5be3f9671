"""Candidate codes for a sentence: dictionary matching against the release in force.

The code search index (codesets.search) answers "which codes hold all these typed words"; a
note needs the reverse, "which code names are fully spelled out in this sentence". Each code
title and inclusion term becomes a name: its content words, with the parts a title adds to say
"nothing more is known" removed ("Pneumonia, unspecified organism" is named by "pneumonia";
"Duodenal ulcer, ..., without hemorrhage or perforation" by "duodenal ulcer"). A name matches
when every one of its words is in the sentence; more words matched is a more specific code.
Chart abbreviations come from the search index's table (codesets.search.ABBREVIATIONS).
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
    "approach",
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


def stem(word: str) -> str:
    """Crude, fast normalisation: plurals and a few adjective endings to one form."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


_PARENS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_WITHOUT = re.compile(r"\b(without|except)\b.*$", re.I)
_NUMBER_AFTER = {"type", "stage", "grade", "class", "degree", "phase", "level", "tier"}


def name_words(text: str) -> frozenset[str]:
    # Parenthesised words are nonessential modifiers in ICD-10-CM; "without ..." is the default.
    text = _PARENS.sub(" ", _EPISODE.sub("", text))
    text = ",".join(_WITHOUT.sub("", part) for part in text.split(","))
    parts = [p for p in text.split(",") if not _VAGUE_PART.match(p)] or [text.split(",")[0]]
    return frozenset(stem(w) for w in words(" ".join(parts)) if w not in _GENERIC)


@dataclass(frozen=True)
class Name:
    entry: int  # index into the ReleaseIndex entries
    words: frozenset[str]
    is_title: bool


@dataclass
class Token:
    stem: str
    start: int
    end: int


def tokens(text: str, offset: int = 0) -> list[Token]:
    """Words of a sentence with their offsets; an abbreviation also yields its spelled-out
    words at the same offsets, so "htn" can match "hypertension"."""
    out: list[Token] = []
    previous = ""
    for m in _TOKEN.finditer(text):
        w = m.group(0).lower()
        start, end = m.start() + offset, m.end() + offset
        # A bare number is list numbering or a dose unless it follows "type", "stage"...
        number, previous = w.isdigit() and previous not in _NUMBER_AFTER, w
        if number:
            continue
        out.append(Token(stem(w), start, end))
        for alternative in (ABBREVIATIONS.get(w) or CHART_WORDS.get(w) or [])[:1]:
            out.extend(Token(stem(a), start, end) for a in words(alternative))
    return out


class Matcher:
    """Names of one release indexed by their rarest word."""

    def __init__(self, index):
        self.index = index
        names: list[Name] = []
        for idx, (_c, _d, description, _b, _k, terms, source, _o) in enumerate(index.entries):
            if source != "code" or _LATER_EPISODE.search(description):
                continue  # subsequent encounters and sequelae need context a note rarely has
            title = name_words(description)
            if title:
                names.append(Name(idx, title, True))
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
        present: dict[str, list[Token]] = {}
        for token in sentence_tokens:
            present.setdefault(token.stem, []).append(token)
        found = []
        for w in present:
            for name in self.by_word.get(w, ()):
                matched = [x for x in name.words if x in present]
                # All words; or, for a name of three words or more, all but one (never its
                # rarest, most telling word, which is the key it was found by).
                if len(matched) == len(name.words) or (
                    len(name.words) >= 3 and len(matched) == len(name.words) - 1
                ):
                    found.append((name, [present[x][0] for x in matched]))
        return found

    def idf(self, word: str) -> float:
        import math

        return math.log((self.total + 1) / (self.frequency.get(word, 0) + 1))


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
        with _lock:
            _matchers[key] = found
            while len(_matchers) > 6:
                _matchers.pop(next(iter(_matchers)))
    return found
