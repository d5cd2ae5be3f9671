"""Practice charts: the coder's list and the seniors' case library (audits/practice_views.py)."""

from django.urls import path

from audits import practice_views

urlpatterns = [
    path("practice/", practice_views.practice, name="practice"),
    path(
        "practice/cases/<int:case_id>/start/", practice_views.practice_start, name="practice_start"
    ),
    path(
        "practice/attempts/<int:attempt_id>/",
        practice_views.practice_result,
        name="practice_result",
    ),
    path("practice/cases/", practice_views.practice_cases, name="practice_cases"),
    path("practice/cases/import/", practice_views.practice_import, name="practice_import"),
    path(
        "practice/cases/from-encounter/",
        practice_views.practice_case_from_encounter,
        name="practice_case_from_encounter",
    ),
    path("practice/cases/<int:case_id>/", practice_views.practice_case, name="practice_case"),
]
