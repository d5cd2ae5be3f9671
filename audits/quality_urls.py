"""Dashboards, scorecards, exports and PHI access review (namespace "audits")."""

from django.urls import path

from audits import quality_views as views

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/list/", views.quality_list, name="quality_list"),
    path("dashboard/coders/<int:pk>/", views.scorecard, name="scorecard"),
    path("dashboard/target/", views.quality_target, name="quality_target"),
    path("dashboard/export/items.csv", views.quality_export_items, name="quality_export_items"),
    path(
        "dashboard/export/findings.csv",
        views.quality_export_findings,
        name="quality_export_findings",
    ),
    path("quality/plans/<int:pk>/report/", views.quality_plan_report, name="quality_plan_report"),
    path(
        "quality/plans/<int:pk>/report.pdf",
        views.quality_plan_report_pdf,
        name="quality_plan_report_pdf",
    ),
    path("access/", views.access_review_page, name="access_review"),
    path("access/export.csv", views.access_export, name="access_export"),
]
