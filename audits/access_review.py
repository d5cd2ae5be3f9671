"""PHI access review: the access log with filters, flags for unusual access, export, and the
verification of its hash chain.

Flags (each row says why it is flagged):
- *No relationship*: the user had no assignment, workflow step, second-level review or audit
  on any encounter of this patient, and none of them is in an open queue (ready and
  unassigned, or waiting for review) that the user's role could take from.
- *Outside working hours*: local time before the start or at/after the end of the working day
  (default 07:00–19:00, settings.PHI_WORKING_HOURS or the page's own fields).
- *Many charts*: more than N distinct patients (default 30) opened by the user within M minutes
  (default 10) up to and including this access.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, ExtractHour, ExtractMinute
from django.utils import timezone

from accounts.models import PhiAccess, User
from accounts.services import PHI_ACCESS_HASHED_FIELDS, phi_access_hash
from audits.models import AuditItem
from encounters.models import Encounter, Patient, Review, Transition

FLAG_HELP = {
    "no_relationship": (
        "No relationship",
        "The user had no assignment, workflow step, review or audit on any encounter of this "
        "patient, and none was in an open queue.",
    ),
    "after_hours": ("Outside working hours", "Opened before or after the working day."),
    "burst": ("Many charts", "Many distinct patients opened in a short time."),
}


def _hhmm(value: str, fallback: time) -> time:
    try:
        return time.fromisoformat(value)
    except (TypeError, ValueError):
        return fallback


def working_hours_default() -> tuple[time, time]:
    configured = getattr(settings, "PHI_WORKING_HOURS", ("07:00", "19:00"))
    return _hhmm(configured[0], time(7)), _hhmm(configured[1], time(19))


@dataclass(frozen=True)
class AccessParams:
    user_id: int | None = None
    patient_ids: tuple[int, ...] | None = None  # None: any patient
    patient_query: str = ""
    date_from: date | None = None
    date_to: date | None = None
    flagged_only: bool = False
    work_start: time = time(7)
    work_end: time = time(19)
    burst_patients: int = 30
    burst_minutes: int = 10
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        parts = []
        if self.user_id:
            parts.append(f"user {self.user_id}")
        if self.patient_query:
            parts.append(f"patient {self.patient_query}")
        if self.date_from:
            parts.append(f"from {self.date_from}")
        if self.date_to:
            parts.append(f"to {self.date_to}")
        if self.flagged_only:
            parts.append("flagged only")
        return ", ".join(parts) or "everything"


class AccessFilterForm(forms.Form):
    user = forms.ModelChoiceField(
        queryset=User.objects.order_by("username"), required=False, empty_label="Anyone"
    )
    patient = forms.CharField(
        required=False, max_length=64, help_text="MRN (exact) or the patient's internal id."
    )
    date_from = forms.DateField(
        label="From", required=False, widget=forms.DateInput({"type": "date"})
    )
    date_to = forms.DateField(label="To", required=False, widget=forms.DateInput({"type": "date"}))
    flagged = forms.BooleanField(label="Flagged only", required=False)
    work_start = forms.TimeField(
        label="Working day starts", required=False, widget=forms.TimeInput({"type": "time"})
    )
    work_end = forms.TimeField(
        label="Working day ends", required=False, widget=forms.TimeInput({"type": "time"})
    )
    burst_patients = forms.IntegerField(
        label="Many charts: more than", required=False, min_value=1, max_value=10000
    )
    burst_minutes = forms.IntegerField(
        label="patients in (minutes)", required=False, min_value=1, max_value=1440
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError("The start date is after the end date.")
        start, end = data.get("work_start"), data.get("work_end")
        if start and end and start >= end:
            raise forms.ValidationError("The working day must start before it ends.")
        return data

    def params(self) -> AccessParams:
        start, end = working_hours_default()
        if not self.is_bound or not self.is_valid():
            return AccessParams(work_start=start, work_end=end)
        data = self.cleaned_data
        patient_ids: tuple[int, ...] | None = None
        query = (data.get("patient") or "").strip()
        notes = []
        if query:
            found = list(Patient.objects.filter(mrn=query).values_list("pk", flat=True))
            if not found and query.isdigit():
                found = [int(query)]
            patient_ids = tuple(found)
            if not found:
                notes.append(f"No patient has the MRN {query}.")
        return AccessParams(
            user_id=data["user"].pk if data.get("user") else None,
            patient_ids=patient_ids,
            patient_query=query,
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            flagged_only=bool(data.get("flagged")),
            work_start=data.get("work_start") or start,
            work_end=data.get("work_end") or end,
            burst_patients=data.get("burst_patients") or 30,
            burst_minutes=data.get("burst_minutes") or 10,
            notes=notes,
        )


def _related(model_qs: QuerySet, patient_path: str, user_q: Q) -> Exists:
    return Exists(model_qs.filter(user_q, **{patient_path: OuterRef("patient_id")}))


def access_rows(params: AccessParams) -> QuerySet[PhiAccess]:
    """The log, newest first, each row annotated with what its flags need (one query)."""
    qs = PhiAccess.objects.select_related("user")
    if params.user_id:
        qs = qs.filter(user_id=params.user_id)
    if params.patient_ids is not None:
        qs = qs.filter(patient_id__in=params.patient_ids)
    if params.date_from:
        qs = qs.filter(at__gte=timezone.make_aware(datetime.combine(params.date_from, time.min)))
    if params.date_to:
        end = timezone.make_aware(datetime.combine(params.date_to + timedelta(days=1), time.min))
        qs = qs.filter(at__lt=end)
    me = OuterRef("user_id")
    open_queue = Q(status=Encounter.Status.READY, assignee__isnull=True) | Q(
        status=Encounter.Status.REVIEW
    )
    window = (
        PhiAccess.objects.filter(
            user_id=OuterRef("user_id"),
            patient_id__isnull=False,
            at__gt=OuterRef("at") - timedelta(minutes=params.burst_minutes),
            at__lte=OuterRef("at"),
        )
        .order_by()
        .values("user_id")
        .annotate(n=Count("patient_id", distinct=True))
        .values("n")
    )
    qs = qs.annotate(
        rel_assigned=_related(Encounter.objects.all(), "patient_id", Q(assignee_id=me)),
        rel_step=_related(Transition.objects.all(), "encounter__patient_id", Q(by_id=me)),
        rel_review=_related(
            Review.objects.all(), "encounter__patient_id", Q(reviewer_id=me) | Q(coder_id=me)
        ),
        rel_audit=_related(
            AuditItem.objects.all(),
            "encounter__patient_id",
            Q(auditor_id=me) | Q(coder_id=me) | Q(plan__auditors=me),
        ),
        rel_queue=_related(Encounter.objects.all(), "patient_id", open_queue),
        local_hour=ExtractHour("at"),
        local_minute=ExtractMinute("at"),
        window_patients=Coalesce(Subquery(window, output_field=IntegerField()), 0),
    )
    if params.flagged_only:
        qs = qs.filter(flagged_q(params))
    return qs.order_by("-at", "-pk")


def flagged_q(params: AccessParams) -> Q:
    no_relationship = Q(patient_id__isnull=False) & Q(
        rel_assigned=False, rel_step=False, rel_review=False, rel_audit=False, rel_queue=False
    )
    # (hour, minute) compared to each bound in SQL, local time (Extract* use the current zone).
    before = Q(local_hour__lt=params.work_start.hour) | Q(
        local_hour=params.work_start.hour, local_minute__lt=params.work_start.minute
    )
    after = Q(local_hour__gt=params.work_end.hour) | Q(
        local_hour=params.work_end.hour, local_minute__gte=params.work_end.minute
    )
    return no_relationship | before | after | Q(window_patients__gt=params.burst_patients)


def flags_of(row: PhiAccess, params: AccessParams) -> list[dict[str, str]]:
    flags = []
    if row.patient_id is not None and not (
        row.rel_assigned or row.rel_step or row.rel_review or row.rel_audit or row.rel_queue
    ):
        flags.append(
            {
                "code": "no_relationship",
                "label": FLAG_HELP["no_relationship"][0],
                "why": (
                    f"{row.user.get_full_name() or row.user.get_username()} had no assignment, "
                    "workflow step, review or audit on any encounter of this patient, and none "
                    "was in an open queue."
                ),
            }
        )
    minutes = row.local_hour * 60 + row.local_minute
    start = params.work_start.hour * 60 + params.work_start.minute
    end = params.work_end.hour * 60 + params.work_end.minute
    if minutes < start or minutes >= end:
        flags.append(
            {
                "code": "after_hours",
                "label": FLAG_HELP["after_hours"][0],
                "why": (
                    f"At {row.local_hour:02d}:{row.local_minute:02d}, outside the working day "
                    f"{params.work_start:%H:%M}–{params.work_end:%H:%M}."
                ),
            }
        )
    if row.window_patients > params.burst_patients:
        flags.append(
            {
                "code": "burst",
                "label": FLAG_HELP["burst"][0],
                "why": (
                    f"{row.window_patients} distinct patients in the {params.burst_minutes} "
                    f"minutes up to this access (more than {params.burst_patients})."
                ),
            }
        )
    return flags


def explain(rows: list[PhiAccess], params: AccessParams) -> list[PhiAccess]:
    """Attach flags and the patient's MRN to one page of rows (one query for the MRNs)."""
    mrns = dict(
        Patient.objects.filter(pk__in={r.patient_id for r in rows if r.patient_id}).values_list(
            "pk", "mrn"
        )
    )
    for row in rows:
        row.flags = flags_of(row, params)
        row.mrn = mrns.get(row.patient_id, "")
    return rows


CSV_HEADER = [
    "id",
    "time",
    "user",
    "action",
    "patient_id",
    "encounter_id",
    "document_id",
    "reason",
    "ip_address",
    "flags",
    "why",
]


def csv_rows(params: AccessParams) -> Iterator[list[Any]]:
    yield CSV_HEADER
    for row in access_rows(params).iterator(chunk_size=2000):
        flags = flags_of(row, params)
        yield [
            row.pk,
            timezone.localtime(row.at).isoformat(timespec="seconds"),
            row.user.get_username(),
            row.action,
            row.patient_id or "",
            row.encounter_id or "",
            row.document_id or "",
            row.reason,
            row.ip_address or "",
            " ".join(f["code"] for f in flags),
            " ".join(f["why"] for f in flags),
        ]


# -- hash chain verification -----------------------------------------------------------------


@dataclass
class ChainReport:
    ok: bool
    rows: int
    unchained: int = 0  # rows written before the chain existed (empty hashes, at the start)
    broken_id: int | None = None
    broken_at: datetime | None = None
    problem: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "rows": self.rows,
            "unchained_before_chain": self.unchained,
            "broken_id": self.broken_id,
            "broken_at": self.broken_at.isoformat() if self.broken_at else None,
            "problem": self.problem,
        }

    def as_json(self) -> str:
        return json.dumps(self.as_dict())


def chain_verify(*, chunk_size: int = 5000) -> ChainReport:
    """Walk the log in id order and recompute every hash; stop at the first broken link.

    A row is broken when its previous_hash is not the row before's row_hash (a row was
    deleted or reordered) or its row_hash does not match its content (a row was edited).
    Rows at the very start with no hash predate the chain and are counted, not judged.
    Deleting the newest rows leaves no trace in the chain itself (compare the row count).
    """
    previous = ""
    rows = 0
    unchained = 0
    chained = False
    fields = (*PHI_ACCESS_HASHED_FIELDS, "previous_hash", "row_hash")
    for row in PhiAccess.objects.order_by("pk").values(*fields).iterator(chunk_size=chunk_size):
        rows += 1
        if not chained and not row["row_hash"] and not row["previous_hash"]:
            unchained += 1
            continue
        chained = True

        problem = ""
        if row["previous_hash"] != previous:
            problem = "its previous_hash is not the hash of the row before it"
        elif phi_access_hash(previous_hash=previous, row=row) != row["row_hash"]:
            problem = "its content does not match its hash"
        if problem:
            return ChainReport(
                ok=False,
                rows=rows,
                unchained=unchained,
                broken_id=row["id"],
                broken_at=row["at"],
                problem=problem,
            )
        previous = row["row_hash"]
    return ChainReport(ok=True, rows=rows, unchained=unchained)


def break_glass_pending(*, limit: int = 100) -> list:
    """Break-the-glass accesses no senior has reviewed yet, oldest first, each with the
    patient's MRN (`mrn`) and whether it is still open (`active`)."""
    from accounts.models import BreakGlass

    rows = list(
        BreakGlass.objects.filter(reviewed_at__isnull=True)
        .select_related("user")
        .order_by("at", "pk")[:limit]
    )
    mrns = dict(
        Patient.objects.filter(pk__in={r.patient_id for r in rows}).values_list("pk", "mrn")
    )
    now = timezone.now()
    for row in rows:
        row.mrn = mrns.get(row.patient_id, "")
        row.active = row.expires_at > now
    return rows
