"""Original coding against the auditor's blind re-code, code by code.

Both sides have the shape of encounters.coding.encounter_as_json()'s "diagnoses" and
"procedures" lists. Each difference becomes one finding draft with a suggested category and
severity; the auditor may change both before the coder sees them.

Kinds of difference (Finding.Kind):
- agree: the same code on both sides, same POA, modifiers and units, not resequenced;
- changed: an original code and an audited code of the same 3-character category (specificity);
- added / deleted: a code only the auditor / only the coder assigned (missing code /
  unsupported by documentation);
- resequenced: the principal (first-listed) code differs and the new principal was already
  on the other side (sequencing);
- poa_changed, modifier_changed, units_changed: the same code with another POA indicator,
  other modifiers or other units.

Counting (the dashboards read these): codes_total is the number of distinct codes in the union
of both sides; codes_agreed counts the codes on both sides with no finding on them.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from audits.models import AuditItem, Finding

K = Finding.Kind
C = Finding.Category
SEV = Finding.Severity

SUGGESTED_CATEGORY = {
    K.CHANGED: C.SPECIFICITY,
    K.RESEQUENCED: C.SEQUENCING,
    K.ADDED: C.MISSING_CODE,
    K.DELETED: C.UNSUPPORTED,
    K.POA_CHANGED: C.POA,
    K.MODIFIER_CHANGED: C.MODIFIER,
    K.UNITS_CHANGED: C.MODIFIER,
}
SUGGESTED_SEVERITY = {
    K.CHANGED: SEV.LOW,
    K.RESEQUENCED: SEV.HIGH,
    K.ADDED: SEV.MEDIUM,
    K.DELETED: SEV.MEDIUM,
    K.POA_CHANGED: SEV.MEDIUM,
    K.MODIFIER_CHANGED: SEV.MEDIUM,
    K.UNITS_CHANGED: SEV.MEDIUM,
}


@dataclass
class FindingDraft:
    kind: str
    code_kind: str  # "diagnosis" or "procedure"
    original_code: str = ""
    audited_code: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    category: str = ""
    severity: str = ""

    def __post_init__(self) -> None:
        self.category = self.category or SUGGESTED_CATEGORY[self.kind]
        self.severity = self.severity or SUGGESTED_SEVERITY[self.kind]


@dataclass
class Comparison:
    findings: list[FindingDraft]
    agreed: list[str]
    codes_total: int
    codes_agreed: int
    weight_difference: Decimal | None = None
    payment_effect: str = ""


def plain(code: str) -> str:
    return (code or "").strip().upper().replace(".", "")


def _key(kind: str, line: dict[str, Any]) -> str:
    # Procedures of different systems never match each other (a CPT and a HCPCS code).
    if kind == "procedure":
        return f"{line.get('system', '')}:{plain(line['code'])}"
    return plain(line["code"])


def _unique(kind: str, lines: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Lines by key, first occurrence kept, in sequence order."""
    found: dict[str, dict[str, Any]] = {}
    for line in lines:
        if line.get("code"):
            found.setdefault(_key(kind, line), line)
    return found


def _description(line: dict[str, Any] | None) -> str:
    return (line or {}).get("description", "") or ""


def _modifiers(line: dict[str, Any]) -> list[str]:
    return [m.strip().upper() for m in line.get("modifiers") or [] if m and m.strip()]


def compare_lines(
    kind: str, original: list[dict[str, Any]], audited: list[dict[str, Any]], *, inpatient: bool
) -> tuple[list[FindingDraft], list[str], int, int]:
    """Findings, the agreed codes, the union size and the agreed count for one list."""
    before = _unique(kind, original)
    after = _unique(kind, audited)
    findings: list[FindingDraft] = []
    troubled: set[str] = set()

    both = [k for k in before if k in after]
    for key in both:
        old, new = before[key], after[key]
        detail = {"description": _description(old)}
        if kind == "diagnosis" and inpatient and (old.get("poa") or "") != (new.get("poa") or ""):
            findings.append(
                FindingDraft(
                    K.POA_CHANGED,
                    kind,
                    old["code"],
                    new["code"],
                    {
                        **detail,
                        "original_poa": old.get("poa") or "",
                        "audited_poa": new.get("poa") or "",
                    },
                )
            )
            troubled.add(key)
        if kind == "procedure":
            if _modifiers(old) != _modifiers(new):
                findings.append(
                    FindingDraft(
                        K.MODIFIER_CHANGED,
                        kind,
                        old["code"],
                        new["code"],
                        {
                            **detail,
                            "original_modifiers": _modifiers(old),
                            "audited_modifiers": _modifiers(new),
                        },
                    )
                )
                troubled.add(key)
            if int(old.get("units") or 1) != int(new.get("units") or 1):
                findings.append(
                    FindingDraft(
                        K.UNITS_CHANGED,
                        kind,
                        old["code"],
                        new["code"],
                        {
                            **detail,
                            "original_units": int(old.get("units") or 1),
                            "audited_units": int(new.get("units") or 1),
                        },
                    )
                )
                troubled.add(key)

    # The principal / first-listed line: resequenced when the new one was already on the
    # other side (otherwise the change shows as a changed, added or deleted code).
    first_before = next(iter(before), None)
    first_after = next(iter(after), None)
    principal_moved = first_after in before or first_before in after
    if first_before and first_after and first_before != first_after and principal_moved:
        findings.append(
            FindingDraft(
                K.RESEQUENCED,
                kind,
                before[first_before]["code"],
                after[first_after]["code"],
                {
                    "original_description": _description(before[first_before]),
                    "audited_description": _description(after[first_after]),
                    "original_position": list(before).index(first_after) + 1
                    if first_after in before
                    else None,
                },
            )
        )
        troubled.update({first_before, first_after})

    only_before = [k for k in before if k not in after]
    only_after = [k for k in after if k not in before]
    # Same 3-character category on both sides: the same condition coded to another
    # specificity. Pair in sequence order, each code at most once.
    paired_after: set[str] = set()
    for key in list(only_before):
        category = plain(before[key]["code"])[:3]
        match = next(
            (
                k
                for k in only_after
                if k not in paired_after
                and plain(after[k]["code"])[:3] == category
                and after[k].get("system") == before[key].get("system")
            ),
            None,
        )
        if match is None:
            continue
        paired_after.add(match)
        only_before.remove(key)
        findings.append(
            FindingDraft(
                K.CHANGED,
                kind,
                before[key]["code"],
                after[match]["code"],
                {
                    "original_description": _description(before[key]),
                    "audited_description": _description(after[match]),
                },
            )
        )
    for key in only_before:
        findings.append(
            FindingDraft(
                K.DELETED, kind, before[key]["code"], "", {"description": _description(before[key])}
            )
        )
    for key in only_after:
        if key in paired_after:
            continue
        findings.append(
            FindingDraft(
                K.ADDED, kind, "", after[key]["code"], {"description": _description(after[key])}
            )
        )

    union = set(before) | set(after)
    agreed = [before[k]["code"] for k in both if k not in troubled]
    return findings, agreed, len(union), len(agreed)


def weight_of(drg: dict[str, Any] | None) -> Decimal | None:
    value = (drg or {}).get("weight")
    return Decimal(str(value)) if value is not None else None


def payment_effect(difference: Decimal | None) -> str:
    """original − audited: positive means the coder's DRG paid more than the audit supports."""
    if difference is None or difference == 0:
        return AuditItem.PaymentEffect.NONE
    if difference > 0:
        return AuditItem.PaymentEffect.UPCODING
    return AuditItem.PaymentEffect.DOWNCODING


def _drg_codes(drg: dict[str, Any] | None) -> set[str]:
    """Codes that drove a grouping: its CC/MCCs."""
    return {plain(c.get("code", "")) for c in (drg or {}).get("cc_mcc") or []}


def compare(
    original: dict[str, Any],
    audited: dict[str, Any],
    *,
    inpatient: bool,
    original_drg: dict[str, Any] | None = None,
    audited_drg: dict[str, Any] | None = None,
) -> Comparison:
    dx = compare_lines(
        "diagnosis",
        original.get("diagnoses") or [],
        audited.get("diagnoses") or [],
        inpatient=inpatient,
    )
    px = compare_lines(
        "procedure",
        original.get("procedures") or [],
        audited.get("procedures") or [],
        inpatient=inpatient,
    )
    findings = dx[0] + px[0]
    difference: Decimal | None = None
    effect = ""
    if inpatient:
        before, after = weight_of(original_drg), weight_of(audited_drg)
        if before is not None and after is not None:
            difference = before - after
            effect = payment_effect(difference)
        drg_changed = (original_drg or {}).get("drg") != (audited_drg or {}).get("drg")
        if drg_changed:
            # A difference that moved the DRG matters most: the codes that were CC/MCCs on
            # either side, and any change to the principal diagnosis.
            movers = _drg_codes(original_drg) | _drg_codes(audited_drg)
            first_dx = {
                plain(d["code"])
                for side in (original, audited)
                for d in (side.get("diagnoses") or [])[:1]
            }
            for finding in findings:
                codes = {plain(finding.original_code), plain(finding.audited_code)} - {""}
                if codes & (movers | first_dx):
                    finding.severity = SEV.HIGH
    return Comparison(
        findings=findings,
        agreed=dx[1] + px[1],
        codes_total=dx[2] + px[2],
        codes_agreed=dx[3] + px[3],
        weight_difference=difference,
        payment_effect=effect,
    )
