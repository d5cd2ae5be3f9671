"""Audit plans, samples, blind re-coding and findings (namespace "audits")."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
