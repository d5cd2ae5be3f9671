"""Payer coverage rules maintained by admins (namespace "codesets")."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
