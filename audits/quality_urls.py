"""Dashboards, scorecards, exports and PHI access review (namespace "audits")."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
