"""Claims, denials and resubmission.

A claim is billed once per encounter. The payer may deny it with claim adjustment reason codes
(CARC, X12 code list 139, each under a group code CO/PR/OA/PI) and remittance advice remark
codes (RARC, code list 411). A denial is worked by correcting the codes (the encounter goes
back to an editable status; the coding as billed is kept as a numbered CodingVersion) and
resubmitting, or by drafting an appeal letter from the documentation.

Every step writes a ClaimEvent and, when the encounter's workflow status moves, the encounter
Transition through `transition_record` (one transition per step, never a second one).

    codes.py      the CARC/RARC table, parsing, the rules each code points at
    versions.py   coding snapshots (CodingVersion) and their differences
    services.py   the writes: bill, deny, correct, resubmit, appeal letter, paid, close
    appeal.py     the appeal letter's first draft from the record
    selectors.py  the worklist, ready to bill, likely causes, the claim of an encounter
    demo.py       the demo claims
"""

from encounters.claims.appeal import appeal_draft
from encounters.claims.codes import (
    CARC,
    GROUP_CODES,
    RARC,
    ReasonCode,
    carc_label,
    carc_parse,
    denial_codes,
    rarc_parse,
    rule_matches,
)
from encounters.claims.demo import claims_demo_load
from encounters.claims.selectors import (
    AGE_FILTERS,
    OPEN_DENIALS,
    WORKLIST_SORTS,
    WORKLIST_STATUSES,
    WorklistFilters,
    claim_of_encounter_for,
    claim_payers_for,
    claims_visible_to,
    days_since,
    denial_worklist,
    likely_causes,
    ready_to_bill_for,
)
from encounters.claims.services import (
    ResubmitBlocked,
    claim_appeal_save,
    claim_bill,
    claim_close,
    claim_correction_start,
    claim_deny,
    claim_mark_paid,
    claim_resubmit,
)
from encounters.claims.versions import coding_diff, coding_snapshot, version_columns

__all__ = [
    "AGE_FILTERS",
    "CARC",
    "GROUP_CODES",
    "OPEN_DENIALS",
    "RARC",
    "WORKLIST_SORTS",
    "WORKLIST_STATUSES",
    "ReasonCode",
    "ResubmitBlocked",
    "WorklistFilters",
    "appeal_draft",
    "carc_label",
    "carc_parse",
    "claim_appeal_save",
    "claim_bill",
    "claim_close",
    "claim_correction_start",
    "claim_deny",
    "claim_mark_paid",
    "claim_of_encounter_for",
    "claim_payers_for",
    "claim_resubmit",
    "claims_demo_load",
    "claims_visible_to",
    "coding_diff",
    "coding_snapshot",
    "days_since",
    "denial_codes",
    "denial_worklist",
    "likely_causes",
    "rarc_parse",
    "ready_to_bill_for",
    "rule_matches",
    "version_columns",
]
