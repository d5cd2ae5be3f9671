"""Pages of the encounters app: chart intake, the work queue and the coding workspace.

Function views: parse the input, call one service, render.
"""

from encounters.views.intake import (
    document_new,
    document_original,
    document_upload,
    encounter_release,
    fhir_import,
    intake,
    intake_new,
)
from encounters.views.queue import (
    encounter_claim,
    encounter_unclaim,
    queue,
    queue_next,
)
from encounters.views.workspace import (
    code_notes,
    diagnosis_add,
    diagnosis_move,
    diagnosis_poa,
    diagnosis_remove,
    encounter_escalate,
    encounter_submit,
    evidence_attach,
    procedure_add,
    procedure_move,
    procedure_remove,
    procedure_update,
    workspace,
)

__all__ = [
    "code_notes",
    "diagnosis_add",
    "diagnosis_move",
    "diagnosis_poa",
    "diagnosis_remove",
    "document_new",
    "document_original",
    "document_upload",
    "encounter_claim",
    "encounter_escalate",
    "encounter_release",
    "encounter_submit",
    "encounter_unclaim",
    "evidence_attach",
    "fhir_import",
    "intake",
    "intake_new",
    "procedure_add",
    "procedure_move",
    "procedure_remove",
    "procedure_update",
    "queue",
    "queue_next",
    "workspace",
]
from encounters.views.apc import apc_panel as apc_panel
from encounters.views.apc import apc_what_if_view as apc_what_if_view
from encounters.views.drg import drg_panel as drg_panel
from encounters.views.drg import drg_save as drg_save
from encounters.views.drg import drg_what_if as drg_what_if
from encounters.views.queries import query_answer as query_answer
from encounters.views.queries import query_list as query_list
from encounters.views.queries import query_new as query_new
from encounters.views.queries import query_withdraw as query_withdraw
from encounters.views.review import coder_statistics as coder_statistics
from encounters.views.review import complex_claim as complex_claim
from encounters.views.review import complex_queue as complex_queue
from encounters.views.review import feedback_detail as feedback_detail
from encounters.views.review import feedback_inbox as feedback_inbox
from encounters.views.review import review_encounter as review_encounter
from encounters.views.review import review_queue as review_queue
