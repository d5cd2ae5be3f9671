"""Provider documentation feedback report (audits/provider_views.py)."""

from django.urls import path

from audits import provider_views

urlpatterns = [
    path("reports/providers/", provider_views.provider_feedback, name="provider_feedback"),
    path("reports/providers/provider/", provider_views.provider_detail, name="provider_detail"),
    path("reports/providers/export.csv", provider_views.provider_export, name="provider_export"),
]
