"""Payer coverage rules maintained by admins (namespace "codesets")."""

from django.urls import path

from codesets import coverage_views

urlpatterns: list = [
    path("coverage/", coverage_views.coverage_list, name="coverage_list"),
    path("coverage/new/", coverage_views.coverage_new, name="coverage_new"),
    path("coverage/<int:pk>/", coverage_views.coverage_edit, name="coverage_edit"),
    path("coverage/<int:pk>/active/", coverage_views.coverage_set_active, name="coverage_active"),
]
