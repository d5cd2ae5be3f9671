"""Reads from the code database."""

from datetime import date

from django.db.models import QuerySet
from django.utils import timezone

from codesets.importers.base import progress_read
from codesets.models import Release


def release_in_force(*, system: str, on: date | None = None, setting: str = "") -> Release | None:
    """The active release of a system in force on a date (default: today)."""
    on = on or timezone.localdate()
    return (
        Release.objects.select_related("system")
        .filter(
            system__slug=system,
            setting=setting,
            status=Release.Status.ACTIVE,
            effective_from__lte=on,
        )
        .exclude(effective_to__lt=on)
        .order_by("-effective_from")
        .first()
    )


def releases_in_force(
    *, systems: list[str], on: date | None = None, setting: str = ""
) -> dict[str, Release]:
    """The release in force for each of several systems, in one query (search runs this on
    every keystroke)."""
    on = on or timezone.localdate()
    found: dict[str, Release] = {}
    candidates = (
        Release.objects.select_related("system")
        .filter(
            system__slug__in=systems,
            setting=setting,
            status=Release.Status.ACTIVE,
            effective_from__lte=on,
        )
        .exclude(effective_to__lt=on)
        .order_by("-effective_from")
    )
    for release in candidates:
        found.setdefault(release.system.slug, release)
    return found


def release_list(*, system: str | None = None) -> QuerySet[Release]:
    releases = Release.objects.select_related("system", "created_by")
    if system:
        releases = releases.filter(system__slug=system)
    return releases.order_by("system__slug", "setting", "-effective_from")


def release_get_by_label(*, system: str, label: str) -> Release | None:
    return Release.objects.select_related("system").filter(system__slug=system, label=label).first()


def release_progress(*, release: Release) -> tuple[int, int]:
    """(rows done, rows expected): live from the cache while importing, else from the row."""
    if release.status in (Release.Status.IMPORTING, Release.Status.PENDING):
        live = progress_read(release.pk)
        if live:
            return live
    return release.progress_done, release.progress_total


def release_as_dict(release: Release) -> dict:
    return {
        "id": release.pk,
        "system": release.system.slug,
        "setting": release.setting,
        "label": release.label,
        "status": release.status,
        "effective_from": release.effective_from.isoformat(),
        "effective_to": release.effective_to.isoformat() if release.effective_to else None,
        "source": release.source,
        "source_name": release.source_name,
        "checksum": release.checksum,
        "row_count": release.row_count,
        "counts": release.counts,
        "error": release.error,
    }


_SETTLED = (Release.Status.IMPORTED, Release.Status.ACTIVE, Release.Status.RETIRED)


def _release_key(release: Release) -> str:
    # The id alone could name another import in another database sharing the cache.
    imported = release.imported_at.timestamp() if release.imported_at else 0
    return f"{release.pk}-{release.checksum[:16]}-{imported:.0f}"


def release_changes(*, old: Release, new: Release) -> dict[str, list[dict[str, str]]]:
    """Codes added, deleted and revised from `old` to `new`, each with its descriptions
    before and after. Imported releases never change, so the answer is cached."""
    from django.core.cache import cache

    if old.status in _SETTLED and new.status in _SETTLED:
        return cache.get_or_set(
            f"codesets:release-changes:{_release_key(old)}:{_release_key(new)}",
            lambda: _compute_changes(old, new),
            7 * 24 * 3600,
        )
    return _compute_changes(old, new)


def _compute_changes(old: Release, new: Release) -> dict[str, list[dict[str, str]]]:
    from codesets.models import Code

    def described(release: Release) -> dict[str, tuple[str, str]]:
        rows = Code.objects.filter(release=release).values_list("code", "display", "description")
        return {code: (display, description) for code, display, description in rows.iterator()}

    before, after = described(old), described(new)
    return {
        "added": [
            {"code": after[c][0], "before": "", "after": after[c][1]}
            for c in sorted(after.keys() - before.keys())
        ],
        "deleted": [
            {"code": before[c][0], "before": before[c][1], "after": ""}
            for c in sorted(before.keys() - after.keys())
        ],
        "revised": [
            {"code": after[c][0], "before": before[c][1], "after": after[c][1]}
            for c in sorted(after.keys() & before.keys())
            if after[c][1] != before[c][1]
        ],
    }


def release_diff(*, old: Release, new: Release) -> dict[str, list[str]]:
    """Codes (as strings) added, deleted and revised (description changed)."""
    changes = release_changes(old=old, new=new)
    return {kind: [row["code"] for row in rows] for kind, rows in changes.items()}


def code_lookup(*, system: str, code: str, on: date | None = None):
    """The Code row for `code` (with or without dot) in the release in force, or None."""
    from codesets.models import Code
    from codesets.search import normalize_code

    release = release_in_force(system=system, on=on)
    if release is None:
        return None
    raw = code.strip().upper()
    return (
        Code.objects.select_related("release", "release__system")
        .filter(release=release, code__in={normalize_code(raw), raw})
        .first()
    )


def _ancestors(code) -> list:
    from codesets.models import Code

    chain = []
    parent_display = code.parent
    while parent_display:
        parent = Code.objects.filter(release_id=code.release_id, display=parent_display).first()
        if parent is None:
            break
        chain.append(parent)
        parent_display = parent.parent
    return chain


def _notes_of(codes: list) -> list[dict]:
    from codesets.models import CodeNote

    notes = (
        CodeNote.objects.filter(code__in=codes)
        .select_related("code")
        .prefetch_related("references")
        .order_by("code__depth", "kind", "sequence")
    )
    own_id = codes[0].pk
    return [
        {
            "kind": note.kind,
            "label": note.get_kind_display(),
            "text": note.text,
            "at": note.code.display,
            "inherited": note.code_id != own_id,
            "references": [
                {"text": ref.text, "first": ref.first, "last": ref.last}
                for ref in note.references.all()
            ],
        }
        for note in notes
    ]


def _pcs_axes(code) -> list[dict]:
    from codesets.importers.pcs import AXIS_NAMES, axis_prefix
    from codesets.models import PcsAxisValue

    wanted = [(axis_prefix(code.code, p), p, code.code[p - 1]) for p in range(1, 8)]
    rows = PcsAxisValue.objects.filter(
        release_id=code.release_id, prefix__in={w[0] for w in wanted}
    ).filter(position__in=range(1, 8))
    by_key: dict[tuple[str, int, str], object] = {}
    for row in rows:
        by_key.setdefault((row.prefix, row.position, row.value), row)
    axes = []
    for prefix, position, value in wanted:
        row = by_key.get((prefix, position, value))
        axes.append(
            {
                "position": position,
                "axis": row.axis if row else AXIS_NAMES[position],
                "value": value,
                "label": row.label if row else "",
                "definition": row.definition if row else "",
            }
        )
    return axes


def code_history(*, system: str, code: str) -> list[dict]:
    """Every release of the system in date order, with what happened to the code in each."""
    from codesets.models import Code

    releases = list(
        Release.objects.filter(system__slug=system)
        .exclude(status__in=[Release.Status.FAILED, Release.Status.PENDING])
        .order_by("effective_from")
    )
    present = {
        release_id: description
        for release_id, description in Code.objects.filter(
            release__in=releases, code=code
        ).values_list("release_id", "description")
    }
    history = []
    previous: str | None = None
    seen_before = False
    for release in releases:
        description = present.get(release.pk)
        if description is None:
            change = "deleted" if seen_before and previous is not None else "absent"
        elif not seen_before:
            change = "added" if history else "present"
        elif previous is None:
            change = "added"
        elif description != previous:
            change = "revised"
        else:
            change = "unchanged"
        history.append(
            {
                "release": release.label,
                "status": release.status,
                "effective_from": release.effective_from.isoformat(),
                "effective_to": release.effective_to.isoformat() if release.effective_to else None,
                "present": description is not None,
                "change": change,
                "description": description,
            }
        )
        seen_before = seen_before or description is not None
        previous = description
    return history


def code_detail(*, system: str, code: str, on: date | None = None) -> dict | None:
    """All a coder wants to know about one code, as plain data (page, API and CLI share it)."""
    from codesets.models import Code, SeventhCharacter

    row = code_lookup(system=system, code=code, on=on)
    if row is None:
        return None
    ancestors = _ancestors(row)
    children = Code.objects.filter(release_id=row.release_id, parent=row.display).order_by(
        "sort_key"
    )
    sevenths = []
    seventh_at = ""
    for holder in [row, *ancestors]:
        found = list(SeventhCharacter.objects.filter(code=holder))
        if found:
            sevenths = [{"character": s.character, "meaning": s.meaning} for s in found]
            seventh_at = holder.display
            break
    return {
        "system": system,
        "code": row.display,
        "description": row.description,
        "short_description": row.short_description,
        "billable": row.billable,
        "kind": row.kind,
        "valid_from": row.valid_from.isoformat() if row.valid_from else None,
        "valid_to": row.valid_to.isoformat() if row.valid_to else None,
        "release": {
            "label": row.release.label,
            "effective_from": row.release.effective_from.isoformat(),
            "effective_to": (
                row.release.effective_to.isoformat() if row.release.effective_to else None
            ),
        },
        "ancestors": [
            {"code": a.display, "description": a.description, "kind": a.kind}
            for a in reversed(ancestors)
        ],
        "children": [
            {"code": c.display, "description": c.description, "billable": c.billable}
            for c in children
        ],
        "notes": _notes_of([row, *ancestors]),
        "seventh_characters": sevenths,
        "seventh_characters_defined_at": seventh_at,
        "pcs_axes": _pcs_axes(row) if system == "icd10pcs" else [],
        "extra": row.extra,
        "history": code_history(system=system, code=row.code),
    }
