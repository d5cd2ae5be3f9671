"""Practice charts: the coder's list and the seniors' case library (audits/practice_views.py)."""

from django.urls import path

from audits import practice_views

urlpatterns = [
    path("practice/", practice_views.practice, name="practice"),
    path("practice/cases/", practice_views.practice_cases, name="practice_cases"),
]
