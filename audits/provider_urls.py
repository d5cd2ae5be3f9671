"""Provider documentation feedback report (audits/provider_views.py)."""

from django.urls import path

from audits import provider_views

urlpatterns = [
    path("reports/providers/", provider_views.provider_feedback, name="provider_feedback"),
]
