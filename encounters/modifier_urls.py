"""Modifier picker and units guidance of the workspace (namespace "encounters")."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
