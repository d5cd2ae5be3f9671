"""The appeal letter's first draft, assembled from the record."""

from typing import Any

from django.utils import timezone

from accounts.models import User
from encounters.claims.codes import denial_codes
from encounters.claims.versions import coding_diff
from encounters.models import Claim


def _evidence_line(line: Any) -> str:
    if not line.evidence_quote:
        return "   (no supporting passage linked to this code yet)"
    doc = line.evidence_document
    source = (
        f"{doc.title}, {doc.author or 'author not recorded'}, {doc.written_on:%Y-%m-%d}"
        if doc
        else "the record"
    )
    quote = " ".join(line.evidence_quote.split())
    return f"   Documented in {source}: “{quote}”"


def appeal_draft(*, claim: Claim, by: User) -> str:
    """A first draft from the record: denial reasons, each code with its quoted evidence, the
    documents enclosed. The coder edits it before saving; nothing here is sent anywhere."""
    encounter = claim.encounter
    patient = encounter.patient
    dates = f"{encounter.admit_date:%Y-%m-%d}"
    if encounter.discharge_date and encounter.discharge_date != encounter.admit_date:
        dates += f" to {encounter.discharge_date:%Y-%m-%d}"
    lines = [
        f"{timezone.localdate():%B %-d, %Y}",
        "",
        f"{claim.payer}",
        "Appeals and reconsiderations",
        "",
        f"Re: Request for reconsideration of claim {claim.claim_number}",
        f"Patient: {patient.first_name} {patient.last_name}, born {patient.birth_date:%Y-%m-%d}"
        + (f", coverage {patient.coverage}" if patient.coverage else ""),
        f"Account: {encounter.account_number} ({encounter.get_type_display().lower()}), "
        f"date(s) of service {dates}",
    ]
    if encounter.provider:
        lines.append(f"Provider: {encounter.provider}")
    lines += ["", "To whom it may concern:", ""]
    denied = f" on {claim.denied_at:%Y-%m-%d}" if claim.denied_at else ""
    lines.append(
        f"We ask you to reconsider the denial of this claim{denied}, given with these reason codes:"
    )
    for row in denial_codes(claim):
        lines.append(f" - {row['kind']} {row['code']}: {row['meaning']}")
    if claim.denial_text:
        lines.append(f"Your note: “{' '.join(claim.denial_text.split())}”")
    lines += ["", "The services billed and the documentation that supports each:", ""]
    diagnoses = list(encounter.diagnoses.select_related("evidence_document").order_by("sequence"))
    procedures = list(encounter.procedures.select_related("evidence_document").order_by("sequence"))
    if diagnoses:
        lines.append("Diagnoses")
        for dx in diagnoses:
            role = " (principal)" if dx.sequence == 1 else ""
            lines.append(f"{dx.sequence}. {dx.code} {dx.description}{role}")
            lines.append(_evidence_line(dx))
        lines.append("")
    if procedures:
        lines.append("Procedures")
        for px in procedures:
            extra = []
            if px.modifiers:
                extra.append("modifier " + "-".join(px.modifiers))
            if px.units != 1:
                extra.append(f"{px.units} units")
            suffix = f" ({', '.join(extra)})" if extra else ""
            lines.append(f"{px.sequence}. {px.code} {px.description}{suffix}".rstrip())
            lines.append(_evidence_line(px))
        lines.append("")
    versions = list(encounter.coding_versions.order_by("number"))
    if len(versions) > 1:
        changes = coding_diff(versions[0].coding, versions[-1].coding)
        if changes:
            lines.append("Since the first submission the coding was corrected:")
            for change in changes:
                detail = f" ({'; '.join(change['what'])})" if change["what"] else ""
                lines.append(f" - {change['code']} {change['change']}{detail}")
            lines.append("")
    documents = list(encounter.documents.order_by("written_on", "pk"))
    if documents:
        lines.append("Enclosed from the medical record:")
        for doc in documents:
            author = f", {doc.author}" if doc.author else ""
            lines.append(
                f" - {doc.title} ({doc.get_note_type_display()}{author}, {doc.written_on:%Y-%m-%d})"
            )
        lines.append("")
    lines += [
        "The enclosed documentation shows that the services were provided, were medically "
        "necessary, and are coded as the record supports. We ask you to reprocess the claim "
        "for payment.",
        "",
        "Sincerely,",
        "",
        by.get_full_name() or by.get_username(),
        "Coding and billing",
    ]
    return "\n".join(lines)
