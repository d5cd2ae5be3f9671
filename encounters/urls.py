from django.urls import include, path

from encounters import views

app_name = "encounters"

urlpatterns = [
    path("queue/", views.queue, name="queue"),
    path("queue/next/", views.queue_next, name="queue_next"),
    path("complex/", views.complex_queue, name="complex"),
    # intake
    path("intake/", views.intake, name="intake"),
    path("intake/new/", views.intake_new, name="intake_new"),
    path("intake/fhir/", views.fhir_import, name="fhir_import"),
    path("<int:pk>/documents/new/", views.document_new, name="document_new"),
    path("<int:pk>/documents/upload/", views.document_upload, name="document_upload"),
    path("<int:pk>/release/", views.encounter_release, name="release"),
    path(
        "<int:pk>/documents/<int:document_pk>/original/",
        views.document_original,
        name="document_original",
    ),
    # the coding workspace
    path("<int:pk>/", views.workspace, name="workspace"),
    path("<int:pk>/claim/", views.encounter_claim, name="claim"),
    path("<int:pk>/unclaim/", views.encounter_unclaim, name="unclaim"),
    path("<int:pk>/diagnoses/add/", views.diagnosis_add, name="diagnosis_add"),
    path("<int:pk>/diagnoses/remove/", views.diagnosis_remove, name="diagnosis_remove"),
    path("<int:pk>/diagnoses/move/", views.diagnosis_move, name="diagnosis_move"),
    path("<int:pk>/diagnoses/poa/", views.diagnosis_poa, name="diagnosis_poa"),
    path("<int:pk>/procedures/add/", views.procedure_add, name="procedure_add"),
    path("<int:pk>/procedures/update/", views.procedure_update, name="procedure_update"),
    path("<int:pk>/procedures/remove/", views.procedure_remove, name="procedure_remove"),
    path("<int:pk>/procedures/move/", views.procedure_move, name="procedure_move"),
    path("<int:pk>/evidence/", views.evidence_attach, name="evidence_attach"),
    path("<int:pk>/submit/", views.encounter_submit, name="submit"),
    path("<int:pk>/escalate/", views.encounter_escalate, name="escalate"),
    path("notes/<str:system>/<str:code>/", views.code_notes, name="code_notes"),
    # MS-DRG panel of the workspace (encounters/views/drg.py)
    path("<int:pk>/drg/", views.drg_panel, name="drg_panel"),
    path("<int:pk>/drg/what-if/", views.drg_what_if, name="drg_what_if"),
    path("<int:pk>/drg/save/", views.drg_save, name="drg_save"),
    # APC panel of the workspace (encounters/views/apc.py)
    path("<int:pk>/apc/", views.apc_panel, name="apc_panel"),
    path("<int:pk>/apc/what-if/", views.apc_what_if_view, name="apc_what_if"),
    # complex cases, second-level review and feedback (encounters/views/review.py)
    path("<int:pk>/take/", views.complex_claim, name="complex_claim"),
    path("reviews/", views.review_queue, name="review_queue"),
    path("reviews/coders/", views.coder_statistics, name="coder_statistics"),
    path("<int:pk>/review/", views.review_encounter, name="review"),
    path("feedback/", views.feedback_inbox, name="feedback"),
    path("<int:pk>/feedback/", views.feedback_detail, name="feedback_detail"),
    # physician (CDI) queries
    path("queries/", views.query_list, name="queries"),
    path("<int:pk>/queries/new/", views.query_new, name="query_new"),
    path("<int:pk>/queries/answer/", views.query_answer, name="query_answer"),
    path("<int:pk>/queries/withdraw/", views.query_withdraw, name="query_withdraw"),
    path("", include("encounters.claims_urls")),
    path("", include("encounters.modifier_urls")),
    path("", include("encounters.case_rules_urls")),
    path("", include("encounters.recode_urls")),
    path("", include("encounters.break_glass_urls")),
    path("", include("encounters.assist_urls")),  # coding assistant panel (issue 8)
    path("", include("encounters.explain_urls")),  # "Explain this coding" (issue 9)
]
