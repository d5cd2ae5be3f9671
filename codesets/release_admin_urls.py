"""Release administration: upload, progress, schedule, feeds (namespace "codesets")."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
