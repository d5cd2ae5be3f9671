"""Words learned from CodiEsp train: which codes the coders assigned when a word is in a note.

Titles and index terms miss how case reports say things ("nephritic colic" for renal colic,
"adenopathies" coded R59.9). For each word (its stem) of the training notes, the share of the
notes holding it that were coded with a given code; a word that points at a code in at least
MIN_SHARE of its notes (and MIN_NOTES notes) names that code. Its evidence is the word itself.
While training, each note's own codes are taken out of the counts it sees (leave-one-out), or
the ranker would learn to trust a lexicon that memorised the training labels.
"""

from collections import Counter

from encounters.assist.candidates import _GENERIC, tokens

MIN_NOTES = 2  # co-occurrences (after leaving the note itself out)
MIN_SHARE = 0.12
KEEP_SHARE = 0.1  # stored in weights.json: a little below MIN_SHARE for leave-one-out
PER_WORD = 4
# A word must point at a code at least this many times more often than notes in general are
# coded with it: "pain" (R52) or "illness" (R69) are coded in so many notes that nearly every
# word would otherwise "name" them, with a quote that is no evidence at all.
MIN_LIFT = 2.0


def note_words(text: str) -> set[str]:
    """The stems a note holds (with the spelled-out words of its abbreviations)."""
    return {t.stem for t in tokens(text) if t.stem not in _GENERIC and not t.stem.isdigit()}


class Lexicon:
    """word -> (notes holding it, {code: notes holding it coded with code})."""

    def __init__(
        self,
        entries: dict[str, tuple[int, dict[str, int]]],
        notes: int = 0,
        code_notes: dict[str, int] | None = None,
    ):
        self.entries = entries
        self.notes = notes  # training notes
        self.code_notes = code_notes or {}  # training notes coded with each code
        self._own_words: set[str] = set()
        self._own_codes: set[str] = set()

    @classmethod
    def learn(cls, notes: list[set[str]], codes: list[set[str]]) -> "Lexicon":
        df: Counter = Counter()
        co: dict[str, Counter] = {}
        code_notes: Counter = Counter()
        for words_of_note, codes_of_note in zip(notes, codes, strict=True):
            df.update(words_of_note)
            code_notes.update(codes_of_note)
            for word in words_of_note:
                co.setdefault(word, Counter()).update(codes_of_note)
        entries = {}
        for word, counts in co.items():
            share = KEEP_SHARE * df[word]
            kept = {c: n for c, n in counts.items() if n >= MIN_NOTES and n >= share}
            if kept:
                entries[word] = (df[word], kept)
        used = {c for _df, kept in entries.values() for c in kept}
        return cls(entries, len(notes), {c: n for c, n in code_notes.items() if c in used})

    @classmethod
    def from_model(cls, model: dict) -> "Lexicon | None":
        stored = model.get("lexicon")
        if not stored:
            return None
        return cls(
            {w: (df, dict(codes)) for w, (df, codes) in stored["words"].items()},
            stored["notes"],
            stored["code_notes"],
        )

    def as_json(self) -> dict:
        return {
            "notes": self.notes,
            "code_notes": dict(sorted(self.code_notes.items())),
            "words": {
                w: [df, dict(sorted(c.items()))] for w, (df, c) in sorted(self.entries.items())
            },
        }

    def leaving_out(self, words_of_note: set[str], codes_of_note: set[str]) -> "Lexicon":
        """The same lexicon as seen by a training note that must not see its own codes."""
        other = Lexicon(self.entries, self.notes, self.code_notes)
        other._own_words, other._own_codes = words_of_note, codes_of_note
        return other

    def codes_for(self, word: str) -> list[tuple[str, float]]:
        """(normalised code, share of notes) that the word points at, strongest first."""
        entry = self.entries.get(word)
        if entry is None:
            return []
        df, counts = entry
        own = word in self._own_words
        df -= own
        if df <= 0:
            return []
        found = []
        notes = self.notes - bool(self._own_words)
        for code, n in counts.items():
            n -= own and code in self._own_codes
            if n < MIN_NOTES or n / df < MIN_SHARE:
                continue
            base = (self.code_notes.get(code, 0) - (code in self._own_codes)) / max(notes, 1)
            if n / df >= MIN_LIFT * base:
                found.append((code, n / df))
        found.sort(key=lambda pair: -pair[1])
        return found[:PER_WORD]
