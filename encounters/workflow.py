"""The encounter workflow of DESIGN.md as data: which step may follow which, and who may take it.

intake → ready → coding → (complex) → (query pending) → review → coded → (pre-bill audit)
→ ready to bill → billed → (denied → corrected → resubmitted) → closed
"""

from accounts.permissions import Capability
from encounters.models import Encounter

S = Encounter.Status

# (from, to) → the capability needed to take that step.
STEPS: dict[tuple[str, str], Capability] = {
    (S.INTAKE, S.READY): Capability.INTAKE_CHARTS,
    (S.READY, S.CODING): Capability.CODE_ENCOUNTERS,
    (S.CODING, S.READY): Capability.CODE_ENCOUNTERS,  # hand a chart back to the pool
    (S.CODING, S.COMPLEX): Capability.CODE_ENCOUNTERS,
    (S.CODING, S.QUERY_PENDING): Capability.MANAGE_QUERIES,
    (S.COMPLEX, S.CODING): Capability.WORK_COMPLEX_CASES,
    (S.COMPLEX, S.QUERY_PENDING): Capability.MANAGE_QUERIES,
    (S.QUERY_PENDING, S.CODING): Capability.MANAGE_QUERIES,
    (S.CODING, S.REVIEW): Capability.CODE_ENCOUNTERS,
    (S.REVIEW, S.CODING): Capability.REVIEW_JUNIORS,
    (S.REVIEW, S.CODED): Capability.REVIEW_JUNIORS,
    (S.CODED, S.PRE_BILL_AUDIT): Capability.RUN_AUDITS,
    (S.PRE_BILL_AUDIT, S.READY_TO_BILL): Capability.RUN_AUDITS,
    (S.PRE_BILL_AUDIT, S.CODING): Capability.RUN_AUDITS,
    (S.CODED, S.READY_TO_BILL): Capability.REVIEW_JUNIORS,
    (S.READY_TO_BILL, S.BILLED): Capability.WORK_DENIALS,
    (S.BILLED, S.DENIED): Capability.WORK_DENIALS,
    (S.BILLED, S.CLOSED): Capability.WORK_DENIALS,
    (S.DENIED, S.CORRECTED): Capability.WORK_DENIALS,
    (S.DENIED, S.CLOSED): Capability.WORK_DENIALS,  # written off, or the denial accepted
    (S.CORRECTED, S.RESUBMITTED): Capability.WORK_DENIALS,
    (S.RESUBMITTED, S.DENIED): Capability.WORK_DENIALS,
    (S.RESUBMITTED, S.CLOSED): Capability.WORK_DENIALS,
}

# Statuses in which the code lists may still change.
EDITABLE = frozenset({S.CODING, S.COMPLEX, S.QUERY_PENDING, S.REVIEW, S.CORRECTED})
# Statuses that are done with coding and billing; never in a queue.
FINISHED = frozenset({S.BILLED, S.CLOSED})


def next_steps(status: str) -> list[str]:
    return [to for (frm, to) in STEPS if frm == status]
