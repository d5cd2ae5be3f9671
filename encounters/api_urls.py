"""/api/v1/ routes for patients, encounters and their parts. The encounter id is `pk`."""

from django.urls import path

from encounters import api

E = "encounters/<int:pk>"

urlpatterns = [
    path("patients", api.PatientListApi.as_view(), name="api-patients"),
    path("patients/<int:pk>", api.PatientDetailApi.as_view(), name="api-patient"),
    path("encounters", api.EncounterListApi.as_view(), name="api-encounters"),
    path(E, api.EncounterDetailApi.as_view(), name="api-encounter"),
    path(f"{E}/release", api.EncounterReleaseApi.as_view(), name="api-encounter-release"),
    path(f"{E}/claim", api.EncounterClaimApi.as_view(), name="api-encounter-claim"),
    path(f"{E}/submit", api.EncounterSubmitApi.as_view(), name="api-encounter-submit"),
    path(f"{E}/escalate", api.EncounterEscalateApi.as_view(), name="api-encounter-escalate"),
    path(f"{E}/documents", api.DocumentListApi.as_view(), name="api-documents"),
    path(f"{E}/documents/upload", api.DocumentUploadApi.as_view(), name="api-document-upload"),
    path(f"{E}/evidence", api.EvidenceApi.as_view(), name="api-evidence"),
    path(f"{E}/break-glass", api.BreakGlassApi.as_view(), name="api-break-glass"),
    path(
        f"{E}/documents/<int:document_id>",
        api.DocumentDetailApi.as_view(),
        name="api-document",
    ),
    path(f"{E}/diagnoses", api.DiagnosisListApi.as_view(), name="api-diagnoses"),
    path(
        f"{E}/diagnoses/<int:diagnosis_id>",
        api.DiagnosisDetailApi.as_view(),
        name="api-diagnosis",
    ),
    path(
        f"{E}/diagnoses/<int:diagnosis_id>/move",
        api.DiagnosisMoveApi.as_view(),
        name="api-diagnosis-move",
    ),
    path(f"{E}/procedures", api.ProcedureListApi.as_view(), name="api-procedures"),
    path(
        f"{E}/procedures/<int:procedure_id>",
        api.ProcedureDetailApi.as_view(),
        name="api-procedure",
    ),
    path(
        f"{E}/procedures/<int:procedure_id>/move",
        api.ProcedureMoveApi.as_view(),
        name="api-procedure-move",
    ),
    path(f"{E}/queries", api.EncounterQueryListApi.as_view(), name="api-encounter-queries"),
    path(
        f"{E}/queries/<int:query_id>/answer",
        api.QueryAnswerApi.as_view(),
        name="api-query-answer",
    ),
    path(
        f"{E}/queries/<int:query_id>/withdraw",
        api.QueryWithdrawApi.as_view(),
        name="api-query-withdraw",
    ),
    path("queries", api.QueryAgingApi.as_view(), name="api-queries"),
    path("reviews/queue", api.ReviewQueueApi.as_view(), name="api-review-queue"),
    path(f"{E}/reviews", api.EncounterReviewListApi.as_view(), name="api-encounter-reviews"),
    path(f"{E}/review/accept", api.ReviewAcceptApi.as_view(), name="api-review-accept"),
    path(f"{E}/review/return", api.ReviewReturnApi.as_view(), name="api-review-return"),
]
