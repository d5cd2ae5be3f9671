"""Coding versions: the coding as billed (and as each resubmission), and their differences."""

from typing import Any

from accounts.models import User
from encounters.coding import encounter_as_json
from encounters.models import CodingVersion, Encounter


def coding_snapshot(encounter: Encounter) -> dict[str, Any]:
    """encounter_as_json() plus what a reader of the version needs: descriptions, pointers."""
    coding = encounter_as_json(encounter)
    diagnoses = list(encounter.diagnoses.order_by("sequence"))
    procedures = list(encounter.procedures.order_by("sequence"))
    for row, dx in zip(coding["diagnoses"], diagnoses, strict=True):
        row.update(sequence=dx.sequence, description=dx.description)
    for row, px in zip(coding["procedures"], procedures, strict=True):
        row.update(
            sequence=px.sequence,
            description=px.description,
            diagnosis_pointers=list(px.diagnosis_pointers),
        )
    return coding


def _drg_snapshot(encounter: Encounter) -> dict[str, Any]:
    if encounter.type != Encounter.Type.INPATIENT:
        return {}
    from codesets.drg import DrgError
    from encounters.drg_services import encounter_drg

    try:
        return encounter_drg(encounter=encounter).as_dict()
    except DrgError as exc:
        return {"error": str(exc)}


def _version_create(encounter: Encounter, by: User, reason: str) -> CodingVersion:
    last = encounter.coding_versions.order_by("-number").first()
    return CodingVersion.objects.create(
        encounter=encounter,
        number=(last.number + 1) if last else 1,
        coding=coding_snapshot(encounter),
        drg=_drg_snapshot(encounter),
        reason=reason,
        created_by=by,
    )


def _line_key(kind: str, row: dict) -> tuple[str, str]:
    return (kind, row["code"] if kind == "diagnosis" else f"{row['system']}:{row['code']}")


def _line_changes(kind: str, before: dict, after: dict) -> list[str]:
    what = []
    if before.get("sequence") != after.get("sequence"):
        label = "principal" if kind == "diagnosis" and after.get("sequence") == 1 else None
        what.append(
            f"position {before.get('sequence')} → {after.get('sequence')}"
            + (f" ({label})" if label else "")
        )
    if kind == "diagnosis" and (before.get("poa") or "") != (after.get("poa") or ""):
        what.append(f"POA {before.get('poa') or '—'} → {after.get('poa') or '—'}")
    if kind == "procedure":
        if before.get("modifiers") != after.get("modifiers"):
            old = "-".join(before.get("modifiers") or []) or "none"
            new = "-".join(after.get("modifiers") or []) or "none"
            what.append(f"modifiers {old} → {new}")
        if before.get("units") != after.get("units"):
            what.append(f"units {before.get('units')} → {after.get('units')}")
    return what


def coding_diff(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """Codes added, removed and changed (position, POA, modifiers, units) between two codings."""
    changes: list[dict[str, Any]] = []
    for kind, key in (("diagnosis", "diagnoses"), ("procedure", "procedures")):
        old = {_line_key(kind, r): r for r in before.get(key, [])}
        new = {_line_key(kind, r): r for r in after.get(key, [])}
        for line_key, row in old.items():
            if line_key not in new:
                changes.append(
                    {
                        "kind": kind,
                        "change": "removed",
                        "code": row["code"],
                        "description": row.get("description", ""),
                        "what": [],
                    }
                )
        for line_key, row in new.items():
            if line_key not in old:
                changes.append(
                    {
                        "kind": kind,
                        "change": "added",
                        "code": row["code"],
                        "description": row.get("description", ""),
                        "what": [],
                    }
                )
            elif what := _line_changes(kind, old[line_key], row):
                changes.append(
                    {
                        "kind": kind,
                        "change": "changed",
                        "code": row["code"],
                        "description": row.get("description", ""),
                        "what": what,
                    }
                )
    return changes


def _rows(coding: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for kind, key in (("diagnosis", "diagnoses"), ("procedure", "procedures")):
        for line in coding.get(key, []):
            rows.append(
                {**line, "kind": kind, "key": _line_key(kind, line), "mark": "", "what": []}
            )
    return rows


def version_columns(
    versions: list[CodingVersion], current: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The coding versions side by side, oldest first; each line marked added or changed
    against the column before it, and the lines that column dropped listed as removed.
    `current` is the encounter's coding now, shown last while a correction is under way."""
    columns: list[dict[str, Any]] = [
        {"title": f"Version {v.number}", "version": v, "coding": v.coding, "drg": v.drg}
        for v in versions
    ]
    if current is not None:
        columns.append(
            {"title": "Now (not resubmitted)", "version": None, "coding": current, "drg": {}}
        )
    previous: dict[Any, dict] | None = None
    for column in columns:
        rows = _rows(column["coding"])
        by_key = {row["key"]: row for row in rows}
        removed = []
        if previous is not None:
            removed = [old for key, old in previous.items() if key not in by_key]
            for key, row in by_key.items():
                if key not in previous:
                    row["mark"] = "added"
                elif what := _line_changes(row["kind"], previous[key], row):
                    row["mark"], row["what"] = "changed", what
        column["rows"], column["removed"] = rows, removed
        column["changed"] = previous is not None and bool(removed or any(r["mark"] for r in rows))
        previous = by_key
    return columns
