"""Suggestions for notes and encounters, their cache and the coders' decisions.

A suggestion is never an assignment: accepting one goes through services.diagnosis_add /
procedure_add and evidence_attach exactly as a coder typing the code would.
"""

import hashlib
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import User
from codesets.search import NoReleaseInForce
from encounters import services
from encounters.assist import ranking
from encounters.assist.pipeline import ASSESSMENT_SECTIONS, analyse, features, prefer_specific
from encounters.assist.selectors import acceptance_rates  # noqa: F401  (assist rates)
from encounters.models import (
    AssistSuggestion,
    Document,
    Encounter,
    SuggestionDecision,
)

# Below this a candidate is noise, not a suggestion worth a coder's glance.
MIN_CONFIDENCE = 0.02
MAX_PER_DOCUMENT = 40
PROCEDURE_PRIOR = 0.4
PIPELINE_VERSION = "5"
# Where the best quote's words came from, in coders' words (a code's own title says nothing).
SOURCES = {
    "drug": "Table of Drugs",
    "neoplasm": "Neoplasm Table",
    "eindex": "External Cause Index",
    "learned": "word learned from coded notes",
    "semantic": "sentence close in meaning to the code's title",
}  # part of the cache key: a new pipeline recomputes cached suggestions


def suggest_text(
    text: str, *, on: date | None = None, procedure_system: str | None = None
) -> list[dict]:
    """Ranked suggestions for one note, best first; active ones before negated ones.

    Each: system, code, description, confidence, evidence [{text, start, end}], negated, and
    for the panel: vague (only a header matched), why {section, matched, context}."""
    model = ranking.load_model()
    systems = ["icd10cm"] + ([procedure_system] if procedure_system else [])
    out = []
    for system in systems:
        try:
            candidates = analyse(text, on=on, system=system, lexicon=ranking.load_lexicon())
        except NoReleaseInForce:
            continue
        scored = []
        for candidate in candidates:
            signals = features(candidate, model["priors"])
            if system != "icd10cm":
                # The frequency priors come from CodiEsp diagnoses and know no procedure:
                # a middling prior instead of none, so procedures are not all sunk.
                signals["prior"] = signals["prior3"] = PROCEDURE_PRIOR
            scored.append((candidate, ranking.score(signals, model["weights"])))
        for candidate, confidence in prefer_specific(scored):
            if confidence < MIN_CONFIDENCE:
                continue
            shown = candidate.active_mentions or candidate.mentions
            # A whole sentence found by meaning is the quote only when nothing more exact is.
            shown = [m for m in shown if m.source != "semantic"] or shown
            best = sorted(
                shown,
                key=lambda m: (m.section not in ASSESSMENT_SECTIONS, -m.coverage, -m.name_size),
            )
            # One quote per place in the note: two names matching the same words are one
            # piece of evidence.
            best = list({(m.start, m.end): m for m in reversed(best)}.values())[::-1]
            context = sorted(
                {
                    label
                    for m in candidate.mentions
                    for label, on_ in (
                        ("negated", m.negated),
                        ("uncertain", m.uncertain),
                        ("family history", m.family),
                        ("historical", m.historical),
                    )
                    if on_
                }
            )
            out.append(
                {
                    "system": system,
                    "code": candidate.code,
                    "description": candidate.description,
                    "confidence": round(confidence, 3),
                    "evidence": [
                        {"text": m.text, "start": m.start, "end": m.end} for m in best[:3]
                    ],
                    "negated": candidate.negated,
                    "vague": candidate.vague,
                    "why": {
                        "section": best[0].section.replace("_", " "),
                        "matched": best[0].matched,
                        "mentions": len(candidate.mentions),
                        "source": SOURCES.get(best[0].source, ""),
                        "context": context,
                    },
                }
            )
    out.sort(key=lambda s: (s["negated"], -s["confidence"], s["code"]))
    return out


def _hash(text: str) -> str:
    return hashlib.sha256(f"{PIPELINE_VERSION}\n{text}".encode()).hexdigest()


def document_suggestions(document: Document) -> list[AssistSuggestion]:
    """The document's suggestions, computed once per version of its text."""
    digest = _hash(document.text)
    cached = list(document.assist_suggestions.filter(text_hash=digest))
    if cached:
        return cached  # (a note with no suggestion at all is re-read: cheap, and rare)
    encounter = document.encounter
    procedure_system = services.procedure_systems_for(encounter)[0]
    rows = suggest_text(
        document.text, on=encounter.date_of_service, procedure_system=procedure_system
    )[:MAX_PER_DOCUMENT]
    with transaction.atomic():
        document.assist_suggestions.exclude(text_hash=digest).delete()
        if document.assist_suggestions.filter(text_hash=digest).exists():
            return list(document.assist_suggestions.filter(text_hash=digest))  # a twin task
        return AssistSuggestion.objects.bulk_create(
            AssistSuggestion(
                encounter=encounter,
                document=document,
                text_hash=digest,
                system=row["system"],
                code=row["code"],
                description=row["description"][:300],
                confidence=row["confidence"],
                rank=rank,
                negated=row["negated"],
                vague=row["vague"],
                evidence=row["evidence"],
                why=row["why"],
            )
            for rank, row in enumerate(rows, start=1)
        )


def encounter_suggestions(encounter: Encounter) -> list[AssistSuggestion]:
    """One suggestion per code over all documents (the most confident), best first, without
    the codes already assigned or already decided on this encounter."""
    best: dict[tuple[str, str], AssistSuggestion] = {}
    for document in encounter.documents.all():
        for suggestion in document_suggestions(document):
            key = (suggestion.system, suggestion.code)
            if key not in best or suggestion.confidence > best[key].confidence:
                best[key] = suggestion
    assigned = {("icd10cm", d.code) for d in encounter.diagnoses.all()} | {
        (p.system, p.code) for p in encounter.procedures.all()
    }
    decided = set(
        SuggestionDecision.objects.filter(encounter=encounter).values_list("system", "code")
    )
    shown = [s for key, s in best.items() if key not in assigned and key not in decided]
    shown.sort(key=lambda s: (s.negated, -s.confidence, s.code))
    return shown


@transaction.atomic
def suggestion_accept(
    *, suggestion: AssistSuggestion, by: User, version: int
) -> SuggestionDecision:
    """Add the suggested code with its first evidence quote, as the coder would by hand."""
    encounter = suggestion.encounter
    if suggestion.system == "icd10cm":
        assignment = services.diagnosis_add(
            encounter=encounter, by=by, version=version, code=suggestion.code
        )
        kind = "diagnosis"
    else:
        assignment = services.procedure_add(
            encounter=encounter,
            by=by,
            version=version,
            code=suggestion.code,
            system=suggestion.system,
        )
        kind = "procedure"
    evidence = (suggestion.evidence or [None])[0]
    if evidence:
        encounter.refresh_from_db(fields=["version"])
        services.evidence_attach(
            encounter=encounter,
            by=by,
            version=encounter.version,
            kind=kind,
            assignment_id=assignment.pk,
            document_id=suggestion.document_id,
            start=evidence["start"],
            end=evidence["end"],
        )
    return SuggestionDecision.objects.create(
        suggestion=suggestion,
        encounter=encounter,
        user=by,
        system=suggestion.system,
        code=suggestion.code,
        decision=SuggestionDecision.Decision.ACCEPTED,
    )


def suggestion_reject(
    *, suggestion: AssistSuggestion, by: User, reason: str = ""
) -> SuggestionDecision:
    if len(reason) > 2000:
        raise ValidationError({"reason": "Keep the reason under 2,000 characters."})
    return SuggestionDecision.objects.create(
        suggestion=suggestion,
        encounter=suggestion.encounter,
        user=by,
        system=suggestion.system,
        code=suggestion.code,
        decision=SuggestionDecision.Decision.REJECTED,
        reason=reason.strip(),
    )
