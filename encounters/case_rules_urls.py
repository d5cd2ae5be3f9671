"""Automatic complex-case rules: see and tune (namespace "encounters")."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
