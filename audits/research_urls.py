"""Research reports, cohorts and de-identified export (audits/research/)."""

from django.urls import path

from audits.research import views

urlpatterns = [
    path("reports/research/", views.research, name="research"),
    path("reports/cohorts/", views.cohorts, name="cohorts"),
    path("reports/research/high-risk/", views.risk, name="research_risk"),
    path("reports/research/risk-groups/", views.risk_groups, name="risk_groups"),
    path("reports/research/export/", views.research_export, name="research_export"),
]
