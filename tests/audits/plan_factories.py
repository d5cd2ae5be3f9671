"""Coded encounters and audit plans for the audit tests (plans/samples/findings side)."""

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from audits import services
from audits.models import AuditPlan
from encounters.models import DiagnosisAssignment, Encounter, ProcedureAssignment, Transition
from tests.factories import EncounterFactory, InpatientEncounterFactory


def coded_encounter(
    coder,
    *,
    inpatient: bool = False,
    diagnoses=(("E11.9", "Y"),),
    procedures=(),
    status: str = Encounter.Status.CODED,
    discharged: date = date(2026, 5, 5),
    payer: str = "Medicare",
    submitted_at: datetime | None = None,
) -> Encounter:
    """An encounter `coder` coded and submitted for review, now in `status`."""
    factory = InpatientEncounterFactory if inpatient else EncounterFactory
    encounter = factory(
        status=status,
        assignee=coder,
        payer=payer,
        admit_date=discharged - timedelta(days=4 if inpatient else 0),
        discharge_date=discharged,
    )
    for sequence, (code, poa) in enumerate(diagnoses, start=1):
        DiagnosisAssignment.objects.create(
            encounter=encounter,
            code=code,
            description=f"desc {code}",
            sequence=sequence,
            poa=poa if inpatient else "",
            created_by=coder,
        )
    for sequence, line in enumerate(procedures, start=1):
        system, code, *rest = line
        ProcedureAssignment.objects.create(
            encounter=encounter,
            system=system,
            code=code,
            sequence=sequence,
            modifiers=rest[0] if rest else [],
            units=rest[1] if len(rest) > 1 else 1,
            created_by=coder,
        )
    transition = Transition.objects.create(
        encounter=encounter, from_status="coding", to_status="review", by=coder
    )
    if submitted_at:
        Transition.objects.filter(pk=transition.pk).update(at=submitted_at)
    return encounter


def plan(senior, **overrides) -> AuditPlan:
    values = {
        "by": senior,
        "name": "Test plan",
        "kind": AuditPlan.Kind.POST_BILL,
        "method": AuditPlan.Method.RANDOM_PERCENT,
        "percent": Decimal("50"),
        "date_from": date(2026, 5, 1),
        "date_to": date(2026, 5, 31),
        "auditors": [senior],
        "seed": 12345,
    }
    values.update(overrides)
    return services.plan_create(**values)


def aware(day: date) -> datetime:
    return timezone.make_aware(datetime(day.year, day.month, day.day, 10, 0))
