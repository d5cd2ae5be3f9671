"""Physician (CDI) queries: writes and the reads of the query aging list.

A compliant query follows the AHIMA/ACDIS "Guidelines for Achieving a Compliant Query
Practice" (2022 update):

- it rests on the clinical indicators in the record, quoted from the documents;
- it is open-ended, or multiple choice with clinically reasonable options plus
  "Clinically undetermined" and "Other (please specify)";
- it never leads: it does not tell the provider what to document, does not ask them to agree
  with a diagnosis, does not present one diagnosis only (a yes/no question that would
  establish a new diagnosis) and never mentions reimbursement, the DRG or financial impact.

Sending a query puts the encounter into "query pending"; it goes back to coding once the
last open query is answered or withdrawn. Every step is a recorded Transition.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from accounts.permissions import Capability
from codesets.drg import DrgError
from encounters.drg_services import encounter_drg
from encounters.models import Encounter, PhysicianQuery
from encounters.selectors import encounters_visible_to
from encounters.services import _lock, _require, transition_record

UNDETERMINED = "Clinically undetermined"
OTHER = "Other (please specify)"
REQUIRED_OPTIONS = (UNDETERMINED, OTHER)
MAX_INDICATOR_CHARS = 2000
MAX_INDICATORS = 12
MAX_OPTIONS = 10

# Statuses from which a query may be sent (the encounter is being worked by a coder).
QUERYABLE = frozenset(
    {Encounter.Status.CODING, Encounter.Status.COMPLEX, Encounter.Status.QUERY_PENDING}
)


@dataclass(frozen=True)
class LeadingRule:
    """One kind of leading wording: the pattern that finds it and why it is refused."""

    id: str
    pattern: re.Pattern
    reason: str


def _rx(*words: str) -> re.Pattern:
    return re.compile(r"\b(?:" + "|".join(words) + r")\b", re.IGNORECASE)


# Each rule cites the part of the compliant-query practice it enforces.
LEADING_RULES: tuple[LeadingRule, ...] = (
    LeadingRule(
        "DIRECTS_DOCUMENTATION",
        _rx(
            r"please\s+(?:document|add|include|chart|write)",
            r"(?:can|could|would|will)\s+you\s+(?:please\s+)?(?:add|document|include|chart)",
            r"consider\s+(?:documenting|adding|charting)",
            r"(?:you\s+)?(?:should|must|need\s+to)\s+(?:document|add|chart)",
            r"document\s+(?:the\s+)?(?:diagnosis|dx)\s+of",
        ),
        "It tells the provider what to document. A compliant query asks what the clinical "
        "indicators represent and leaves the diagnosis to the provider's judgement.",
    ),
    LeadingRule(
        "SEEKS_AGREEMENT",
        _rx(
            r"(?:would|do|don't|do\s+not)\s+you\s+agree",
            r"don't\s+you\s+think",
            r"isn't\s+(?:it|this)",
            r"(?:please\s+)?confirm\s+(?:the\s+)?(?:diagnosis|dx)",
            r"(?:is|are)\s+you\s+(?:ok|okay)\s+with",
        ),
        "It asks the provider to agree with a diagnosis. Ask an open question, or offer "
        "several clinically reasonable options instead.",
    ),
    LeadingRule(
        "MENTIONS_FINANCES",
        _rx(
            r"(?:ms-)?drgs?",
            r"reimburse(?:ment|d)?",
            r"payments?",
            r"pays?",
            r"paid",
            r"financial(?:ly)?",
            r"impacts?",
            r"revenue",
            r"case\s*mix(?:\s+index)?",
            r"cmi",
            r"relative\s+weight",
        ),
        "It mentions reimbursement, the DRG, payment or financial impact. A query may never "
        "state the effect of the answer on payment or quality scores.",
    ),
    LeadingRule(
        "SINGLE_DIAGNOSIS",
        re.compile(
            r"^\s*(?:does|did|is|was|has|had)\s+(?:the\s+|this\s+)?(?:patient|pt)\b"
            r".*\b(?:have|has|had|suffer|diagnos\w*)\b",
            re.IGNORECASE | re.DOTALL,
        ),
        "It is a yes/no question about a single diagnosis. Yes/no queries may not establish "
        "a new diagnosis: ask an open question or offer multiple choices.",
    ),
)


def leading_wording(text: str) -> list[LeadingRule]:
    """The rules a question (or an option) breaks, in rule order; empty if it reads fine."""
    return [rule for rule in LEADING_RULES if rule.pattern.search(text or "")]


def _check_wording(text: str, what: str) -> None:
    broken = leading_wording(text)
    if broken:
        raise ValidationError(
            {
                "question" if what == "question" else "options": [
                    f"The {what} is leading: {r.reason}" for r in broken
                ]
            }
        )


def _is_required_option(option: str) -> bool:
    low = option.strip().lower()
    return low.startswith("clinically undetermined") or bool(_OTHER_RX.match(low))


_OTHER_RX = re.compile(r"^other\b\s*(?:$|[(:,.-]|please)")


def query_options_normalise(options: list[str]) -> list[str]:
    """Clinical options (stripped, without duplicates) followed by the two required ones."""
    seen: set[str] = set()
    clinical: list[str] = []
    for option in options:
        text = " ".join((option or "").split())
        if not text or _is_required_option(text) or text.lower() in seen:
            continue
        seen.add(text.lower())
        clinical.append(text)
    return [*clinical, *REQUIRED_OPTIONS]


def _checked_indicators(encounter: Encounter, indicators: list[dict]) -> list[dict]:
    if not indicators:
        raise ValidationError(
            {
                "clinical_indicators": "Quote at least one clinical indicator: select the passage "
                "in a document that the question rests on."
            }
        )
    if len(indicators) > MAX_INDICATORS:
        raise ValidationError(
            {"clinical_indicators": f"Quote at most {MAX_INDICATORS} clinical indicators."}
        )
    documents = {d.pk: d for d in encounter.documents.all()}
    checked: list[dict] = []
    for item in indicators:
        try:
            document_id, start, end = (
                int(item["document_id"]),
                int(item["start"]),
                int(item["end"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(
                {"clinical_indicators": "A clinical indicator needs a document and a passage."}
            ) from exc
        document = documents.get(document_id)
        if document is None:
            raise ValidationError(
                {
                    "clinical_indicators": "A clinical indicator is not from this encounter's "
                    "documents."
                }
            )
        if not (0 <= start < end <= len(document.text)):
            raise ValidationError(
                {"clinical_indicators": "A selected passage is outside its document."}
            )
        if end - start > MAX_INDICATOR_CHARS:
            raise ValidationError(
                {"clinical_indicators": "Quote passages of at most 2,000 characters each."}
            )
        quote = document.text[start:end]
        if not quote.strip():
            raise ValidationError({"clinical_indicators": "A selected passage is blank."})
        entry = {"document_id": document_id, "start": start, "end": end, "quote": quote}
        if entry not in checked:
            checked.append(entry)
    return checked


# --- writes ---------------------------------------------------------------------------------


@transaction.atomic
def query_send(
    *,
    encounter: Encounter,
    by: User,
    kind: str,
    provider: str,
    question: str,
    clinical_indicators: list[dict],
    options: list[str] | None = None,
) -> PhysicianQuery:
    """Create a compliant query and send it; the encounter waits in "query pending"."""
    _require(by, Capability.MANAGE_QUERIES)
    locked = _lock(encounter)
    if locked.status not in QUERYABLE:
        raise ValidationError(
            f"An encounter that is {locked.get_status_display().lower()} cannot be queried; "
            "queries are sent while it is being coded."
        )
    if kind not in PhysicianQuery.Kind.values:
        raise ValidationError({"kind": "Choose open-ended or multiple choice."})
    provider = " ".join(provider.split())
    if not provider:
        raise ValidationError({"provider": "Name the provider the query goes to."})
    question = question.strip()
    if len(question) < 15:
        raise ValidationError({"question": "Write the question in full (at least 15 characters)."})
    _check_wording(question, "question")
    final_options: list[str] = []
    if kind == PhysicianQuery.Kind.MULTIPLE_CHOICE:
        final_options = query_options_normalise(options or [])
        clinical = final_options[: -len(REQUIRED_OPTIONS)]
        if len(clinical) < 2:
            raise ValidationError(
                {
                    "options": "Offer at least two clinically reasonable options: a multiple-"
                    "choice query with one diagnosis is leading."
                }
            )
        if len(final_options) > MAX_OPTIONS:
            raise ValidationError({"options": f"Offer at most {MAX_OPTIONS} options in all."})
        for option in clinical:
            _check_wording(option, f"option “{option}”")
    indicators = _checked_indicators(locked, clinical_indicators)
    query = PhysicianQuery.objects.create(
        encounter=locked,
        kind=kind,
        provider=provider[:120],
        question=question,
        clinical_indicators=indicators,
        options=final_options,
        drg_at_send=_drg_now(locked),
        created_by=by,
    )
    if locked.status != Encounter.Status.QUERY_PENDING:
        transition_record(
            encounter=locked,
            to=Encounter.Status.QUERY_PENDING,
            by=by,
            note=f"Query sent to {query.provider}",
            detail={"query_id": query.pk},
        )
    return query


def _drg_now(encounter: Encounter) -> dict[str, Any]:
    """The stay's MS-DRG as coded right now, or {} (not inpatient, or not groupable yet: a
    query often goes out before there is a principal diagnosis)."""
    if encounter.type != Encounter.Type.INPATIENT:
        return {}
    try:
        return {**encounter_drg(encounter=encounter).as_dict(), "at": timezone.now().isoformat()}
    except DrgError:
        return {}


def _lock_open_query(query: PhysicianQuery) -> tuple[Encounter, PhysicianQuery]:
    encounter = _lock(query.encounter)
    locked = PhysicianQuery.objects.select_for_update().get(pk=query.pk)
    if locked.status != PhysicianQuery.Status.SENT:
        raise ValidationError(
            f"This query is already {locked.get_status_display().lower()}; nothing was changed."
        )
    return encounter, locked


def _resume_coding(encounter: Encounter, by: User, note: str, query: PhysicianQuery) -> None:
    """Back to coding when the encounter waits on queries and none is open any more."""
    if encounter.status != Encounter.Status.QUERY_PENDING:
        return
    if encounter.queries.filter(status=PhysicianQuery.Status.SENT).exists():
        return
    transition_record(
        encounter=encounter,
        to=Encounter.Status.CODING,
        by=by,
        note=note,
        detail={"query_id": query.pk},
    )


@transaction.atomic
def query_answer(
    *,
    query: PhysicianQuery,
    by: User,
    answer: str = "",
    option: str = "",
    answered_by: str = "",
    answered_at: datetime | None = None,
) -> PhysicianQuery:
    """Record the provider's answer: free text, or one of the options (Other needs the text)."""
    _require(by, Capability.MANAGE_QUERIES)
    encounter, locked = _lock_open_query(query)
    answer = answer.strip()
    if locked.kind == PhysicianQuery.Kind.MULTIPLE_CHOICE:
        if option not in locked.options:
            raise ValidationError({"option": "Choose the option the provider picked."})
        if option == OTHER:
            if not answer:
                raise ValidationError({"answer": "Write what the provider specified for Other."})
            answer = f"Other: {answer}"
        else:
            answer = f"{option}. {answer}" if answer else option
    elif not answer:
        raise ValidationError({"answer": "Write the provider's answer."})
    now = timezone.now()
    answered_at = answered_at or now
    if timezone.is_naive(answered_at):
        answered_at = timezone.make_aware(answered_at)
    if answered_at > now + timedelta(minutes=5):
        raise ValidationError({"answered_at": "The answer time is in the future."})
    if answered_at < locked.sent_at - timedelta(minutes=1):
        raise ValidationError({"answered_at": "The answer time is before the query was sent."})
    locked.answer = answer
    locked.answered_by = (" ".join(answered_by.split()) or locked.provider)[:120]
    locked.answered_at = answered_at
    locked.recorded_by = by
    locked.status = PhysicianQuery.Status.ANSWERED
    locked.save(update_fields=["answer", "answered_by", "answered_at", "recorded_by", "status"])
    _resume_coding(encounter, by, f"Query answered by {locked.answered_by}", locked)
    return locked


@transaction.atomic
def query_withdraw(*, query: PhysicianQuery, by: User, reason: str) -> PhysicianQuery:
    _require(by, Capability.MANAGE_QUERIES)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say why the query is withdrawn."})
    encounter, locked = _lock_open_query(query)
    locked.status = PhysicianQuery.Status.WITHDRAWN
    locked.withdrawn_reason = reason
    locked.recorded_by = by
    locked.save(update_fields=["status", "withdrawn_reason", "recorded_by"])
    _resume_coding(encounter, by, f"Query withdrawn: {reason}", locked)
    return locked


# --- reads ----------------------------------------------------------------------------------

AGE_FILTERS = {"2": 2, "7": 7}


def queries_visible_to(*, user: User) -> QuerySet[PhysicianQuery]:
    """Queries on the encounters the user may open; none without MANAGE_QUERIES."""
    from accounts.permissions import has_capability

    if not has_capability(user, Capability.MANAGE_QUERIES):
        return PhysicianQuery.objects.none()
    return PhysicianQuery.objects.filter(
        encounter__in=encounters_visible_to(user=user).values("pk")
    ).select_related("encounter", "encounter__patient", "encounter__assignee", "created_by")


def query_aging_for(
    *, user: User, tab: str = "open", provider: str = "", older_than_days: int | None = None
) -> QuerySet[PhysicianQuery]:
    """Open queries oldest first (tab "open"), or answered and withdrawn ones newest first."""
    queries = queries_visible_to(user=user)
    if tab == "closed":
        queries = queries.exclude(status=PhysicianQuery.Status.SENT).order_by(
            "-answered_at", "-sent_at", "-pk"
        )
    else:
        queries = queries.filter(status=PhysicianQuery.Status.SENT).order_by("sent_at", "pk")
    if provider:
        queries = queries.filter(provider=provider)
    if older_than_days is not None:
        queries = queries.filter(sent_at__lt=timezone.now() - timedelta(days=older_than_days))
    return queries


def query_providers_for(*, user: User) -> list[str]:
    return list(
        queries_visible_to(user=user)
        .order_by("provider")
        .values_list("provider", flat=True)
        .distinct()
    )


def query_get_for(*, user: User, encounter: Encounter, pk: int) -> PhysicianQuery:
    from django.http import Http404

    query = queries_visible_to(user=user).filter(encounter=encounter, pk=pk).first()
    if query is None:
        raise Http404("No such query on this encounter.")
    return query


def days_open(query: PhysicianQuery, now: datetime | None = None) -> int:
    end = query.answered_at if query.status == PhysicianQuery.Status.ANSWERED else None
    return ((end or now or timezone.now()) - query.sent_at).days
