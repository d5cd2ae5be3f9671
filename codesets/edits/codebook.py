"""Per-release, in-memory views of the code tables the edits read.

Releases never change after import (see codesets.models), so whatever a check reads about a
release can be kept for the life of the process, keyed by release id. Each check asks for all
its codes at once: what is not yet cached is read in one query per table, and misses are
remembered too, so a warm check touches the database only to pick the releases in force.
"""

import re
import threading
from dataclasses import dataclass
from datetime import date

from codesets.models import (
    Code,
    CodeNote,
    MueEdit,
    NoteReference,
    PtpEdit,
    Release,
    SeventhCharacter,
)
from codesets.search import normalize_code

_lock = threading.Lock()

# -- ICD-10-CM ------------------------------------------------------------------------------

NOTE_KINDS = (
    CodeNote.Kind.EXCLUDES1,
    CodeNote.Kind.CODE_FIRST,
    CodeNote.Kind.USE_ADDITIONAL,
)

# "diabetes mellitus (E08-E13 with .42)", "(B27.0-B27.9 with fifth character 1)": the range
# alone would cover every diabetes code, so the qualifier after it narrows the match.
_WITH = re.compile(
    r"\s*with\s+(?:(?P<dot>\.[0-9A-Z]+)|(?P<nth>fourth|fifth|sixth|seventh|4th|5th|6th|7th)"
    r"\s+character\s+(?P<char>[0-9A-Z]))",
    re.IGNORECASE,
)
_NTH = {"fourth": 3, "4th": 3, "fifth": 4, "5th": 4, "sixth": 5, "6th": 5, "seventh": 6, "7th": 6}


@dataclass(frozen=True)
class NoteRef:
    first: str
    last: str
    text: str
    # Qualifier from "with .42" (suffix after the category) or "with fifth character 1".
    suffix: str = ""
    position: int = -1
    character: str = ""
    unusable: bool = False  # a "with" qualifier we cannot read: never matches (no false alarms)

    def covers(self, code: str) -> bool:
        if self.unusable:
            return False
        if not (code[: len(self.first)] >= self.first and code[: len(self.last)] <= self.last):
            return False
        if self.suffix:
            return code[3:].startswith(self.suffix)
        if self.position >= 0:
            return len(code) > self.position and code[self.position] == self.character
        return True


@dataclass(frozen=True)
class Note:
    kind: str
    text: str
    at: str  # display of the code or header the note sits on
    at_kind: str
    refs: tuple[NoteRef, ...]


@dataclass(frozen=True)
class CmCode:
    id: int
    code: str
    display: str
    description: str
    billable: bool
    kind: str
    parent: str


def _qualified(ref_text: str, first: str, last: str, note_text: str) -> NoteRef:
    at = note_text.find(ref_text)
    if at < 0:
        return NoteRef(first, last, ref_text)
    after = note_text[at + len(ref_text) :]
    if not re.match(r"\s*with\b", after, re.IGNORECASE):
        return NoteRef(first, last, ref_text)
    match = _WITH.match(after)
    if match is None:
        return NoteRef(first, last, ref_text, unusable=True)
    if match.group("dot"):
        return NoteRef(first, last, ref_text, suffix=match.group("dot")[1:].upper())
    return NoteRef(
        first,
        last,
        ref_text,
        position=_NTH[match.group("nth").lower()],
        character=match.group("char").upper(),
    )


class CmBook:
    """One ICD-10-CM release: codes, headers, notes and 7th characters, filled on demand."""

    def __init__(self, release_id: int) -> None:
        self.release_id = release_id
        self.codes: dict[str, CmCode | None] = {}
        self.by_display: dict[str, CmCode] = {}
        self.notes: dict[int, tuple[Note, ...]] = {}
        self.sevenths: dict[int, tuple[tuple[str, str], ...]] = {}
        self._children: dict[str, tuple[str, ...]] = {}
        self._notes_of: dict[tuple[str, str], tuple[Note, ...]] = {}
        self._exclusions: dict[str, tuple[tuple[Note, NoteRef], ...]] = {}
        self._headers_loaded = False

    def _load_headers(self) -> None:
        """Chapters and blocks (a few hundred rows) with their notes, once per release."""
        rows = Code.objects.filter(
            release_id=self.release_id, kind__in=[Code.Kind.CHAPTER, Code.Kind.BLOCK]
        )
        self._remember(list(_cm_rows(rows)))
        self._headers_loaded = True

    def _remember(self, found: list[CmCode]) -> None:
        for row in found:
            self.codes[row.code] = row
            self.by_display[row.display] = row
        ids = [row.id for row in found]
        notes: dict[int, list[Note]] = {i: [] for i in ids}
        sevenths: dict[int, list[tuple[str, str]]] = {i: [] for i in ids}
        if ids:
            note_rows = list(
                CodeNote.objects.filter(code_id__in=ids, kind__in=NOTE_KINDS)
                .order_by("code_id", "kind", "sequence")
                .values_list("id", "code_id", "kind", "text")
            )
            refs: dict[int, list[tuple[str, str, str]]] = {}
            if note_rows:
                for note_id, first, last, text in NoteReference.objects.filter(
                    note_id__in=[n[0] for n in note_rows]
                ).values_list("note_id", "first", "last", "text"):
                    refs.setdefault(note_id, []).append((first, last, text))
            by_id = {row.id: row for row in found}
            for note_id, code_id, kind, text in note_rows:
                holder = by_id[code_id]
                notes[code_id].append(
                    Note(
                        kind=kind,
                        text=text,
                        at=holder.display,
                        at_kind=holder.kind,
                        refs=tuple(
                            _qualified(ref_text, first, last, text)
                            for first, last, ref_text in refs.get(note_id, [])
                        ),
                    )
                )
            for code_id, character, meaning in (
                SeventhCharacter.objects.filter(code_id__in=ids)
                .order_by("code_id", "character")
                .values_list("code_id", "character", "meaning")
            ):
                sevenths[code_id].append((character, meaning))
        for i in ids:
            self.notes[i] = tuple(notes[i])
            self.sevenths[i] = tuple(sevenths[i])

    def load(self, codes: set[str]) -> None:
        """Make sure every code and every prefix of it (its ancestors) is known."""
        with _lock:
            if not self._headers_loaded:
                self._load_headers()
            wanted = {c[:n] for c in codes for n in range(3, len(c) + 1)}
            missing = wanted - self.codes.keys()
            if not missing:
                return
            found = _cm_rows(Code.objects.filter(release_id=self.release_id, code__in=missing))
            self._remember(found)
            for code in missing - {row.code for row in found}:
                self.codes[code] = None

    def get(self, code: str) -> CmCode | None:
        return self.codes.get(code)

    def children(self, code: str) -> tuple[str, ...]:
        """A few codes below `code` (ICD-10-CM children extend their parent's code): a range
        scan of the (release, code) index, remembered per release."""
        found = self._children.get(code)
        if found is None:
            found = tuple(
                Code.objects.filter(
                    release_id=self.release_id, code__startswith=code, code__gt=code
                )
                .order_by("code")
                .values_list("display", flat=True)[:4]
            )
            self._children[code] = found
        return found

    def chain(self, code: str) -> list[CmCode]:
        """The code's own row (if any), then its ancestors up to the chapter."""
        chain = [row for n in range(len(code), 2, -1) if (row := self.codes.get(code[:n]))]
        if chain:
            parent = chain[-1].parent
            while parent and (header := self.by_display.get(parent)) and header not in chain:
                chain.append(header)
                parent = header.parent
        return chain

    def notes_of(self, code: str, kind: str) -> tuple[Note, ...]:
        """Notes of one kind on the code and its ancestors (remembered: checked every time)."""
        key = (code, kind)
        found = self._notes_of.get(key)
        if found is None:
            found = self._notes_of[key] = tuple(self._collect_notes(code, kind))
        return found

    def exclusions(self, code: str) -> tuple[tuple[Note, NoteRef], ...]:
        """Excludes1 citations that apply to `code` (never the ones covering the code itself)."""
        found = self._exclusions.get(code)
        if found is None:
            found = self._exclusions[code] = tuple(
                (note, ref)
                for note in self.notes_of(code, CodeNote.Kind.EXCLUDES1)
                for ref in note.refs
                if not ref.covers(code)
            )
        return found

    def _collect_notes(self, code: str, kind: str) -> list[Note]:
        return [
            note
            for row in self.chain(code)
            for note in self.notes.get(row.id, ())
            if note.kind == kind
        ]

    def seventh_rule(self, code: str) -> tuple[CmCode, tuple[tuple[str, str], ...]] | None:
        """The nearest ancestor that defines 7th characters, and what they are."""
        for row in self.chain(code):
            if self.sevenths.get(row.id):
                return row, self.sevenths[row.id]
        return None


def _cm_rows(queryset) -> list[CmCode]:
    return [
        CmCode(*values)
        for values in queryset.values_list(
            "id", "code", "display", "description", "billable", "kind", "parent"
        )
    ]


# -- HCPCS / CPT / PCS / modifiers: flat code lists ------------------------------------------


@dataclass(frozen=True)
class FlatCode:
    code: str
    display: str
    description: str
    billable: bool
    valid_from: date | None
    valid_to: date | None


class FlatBook:
    def __init__(self, release_id: int, *, load_all: bool = False) -> None:
        self.release_id = release_id
        self.codes: dict[str, FlatCode | None] = {}
        self.complete = False
        if load_all:  # small systems (modifiers): read the whole release once
            self._fetch(None)
            self.complete = True

    def _fetch(self, codes: set[str] | None) -> None:
        rows = Code.objects.filter(release_id=self.release_id)
        if codes is not None:
            rows = rows.filter(code__in=codes)
        found = set()
        for values in rows.values_list(
            "code", "display", "description", "billable", "valid_from", "valid_to"
        ):
            self.codes[values[0]] = FlatCode(*values)
            found.add(values[0])
        for code in (codes or set()) - found:
            self.codes[code] = None

    def load(self, codes: set[str]) -> None:
        if self.complete:
            return
        with _lock:
            missing = codes - self.codes.keys()
            if missing:
                self._fetch(missing)

    def get(self, code: str) -> FlatCode | None:
        return self.codes.get(code)


# -- NCCI ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PtpRow:
    column1: str
    column2: str
    effective_date: date | None
    deletion_date: date | None
    modifier_indicator: str
    rationale: str


@dataclass(frozen=True)
class MueRow:
    code: str
    value: int
    adjudication_indicator: int
    rationale: str


class PtpBook:
    def __init__(self, release_id: int) -> None:
        self.release_id = release_id
        # Every ordered pair ever asked about, with its rows (empty: no edit for that pair).
        self.pairs: dict[tuple[str, str], tuple[PtpRow, ...]] = {}

    def load(self, codes: set[str]) -> None:
        with _lock:
            wanted = {(a, b) for a in codes for b in codes if a != b}
            missing = wanted - self.pairs.keys()
            if not missing:
                return
            involved = {code for pair in missing for code in pair}
            # Pairs among this check's codes: one query on the (release, column1, column2) index.
            rows = PtpEdit.objects.filter(
                release_id=self.release_id, column1__in=involved, column2__in=involved
            ).values_list(
                "column1",
                "column2",
                "effective_date",
                "deletion_date",
                "modifier_indicator",
                "rationale",
            )
            found: dict[tuple[str, str], list[PtpRow]] = {}
            for values in rows:
                found.setdefault((values[0], values[1]), []).append(PtpRow(*values))
            for pair in missing:
                self.pairs[pair] = tuple(found.get(pair, ()))

    def get(self, first: str, second: str) -> tuple[PtpRow, ...]:
        return self.pairs.get((first, second), ())


class MueBook:
    def __init__(self, release_id: int) -> None:
        self.release_id = release_id
        self.rows: dict[str, MueRow | None] = {}

    def load(self, codes: set[str]) -> None:
        with _lock:
            missing = codes - self.rows.keys()
            if not missing:
                return
            for values in MueEdit.objects.filter(
                release_id=self.release_id, code__in=missing
            ).values_list("code", "value", "adjudication_indicator", "rationale"):
                self.rows[values[0]] = MueRow(*values)
            for code in missing:
                self.rows.setdefault(code, None)

    def get(self, code: str) -> MueRow | None:
        return self.rows.get(code)


# -- process-wide registry -------------------------------------------------------------------

_books: dict[tuple[str, int], object] = {}


def book(kind: str, release_id: int):
    """The cached book of one kind for one release (created on first use)."""
    key = (kind, release_id)
    found = _books.get(key)
    if found is None:
        with _lock:
            found = _books.get(key)
            if found is None:
                found = _BOOK_KINDS[kind](release_id)
                _books[key] = found
    return found


def forget_all() -> None:
    """Tests delete and re-create releases; ids may then be reused by another database."""
    with _lock:
        _books.clear()


_BOOK_KINDS = {
    "cm": CmBook,
    "flat": FlatBook,
    "modifiers": lambda release_id: FlatBook(release_id, load_all=True),
    "ptp": PtpBook,
    "mue": MueBook,
}


def other_releases_with(*, system: str, codes: set[str], exclude_release: int | None) -> dict:
    """For codes missing from the release in force: the other releases of the system that hold
    them, as {code: [(label, effective_from, effective_to), ...]} (one query, error path only)."""
    if not codes:
        return {}
    found: dict[str, list[tuple[str, date, date | None]]] = {}
    rows = (
        Code.objects.filter(release__system__slug=system, code__in=codes)
        .exclude(release_id=exclude_release)
        .filter(
            release__status__in=[
                Release.Status.ACTIVE,
                Release.Status.RETIRED,
                Release.Status.IMPORTED,
            ]
        )
        .values_list("code", "release__label", "release__effective_from", "release__effective_to")
        .order_by("release__effective_from")
    )
    for code, label, start, end in rows:
        found.setdefault(code, []).append((label, start, end))
    return found


def plain(code: str) -> str:
    return normalize_code(code.strip().upper())
