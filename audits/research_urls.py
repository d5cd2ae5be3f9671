"""Research reports, cohorts and de-identified export (audits/research/)."""

from django.urls import path

from audits.research import views

urlpatterns = [
    path("reports/research/", views.research, name="research"),
    path("reports/cohorts/", views.cohorts, name="cohorts"),
]
