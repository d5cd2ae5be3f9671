"""The "needs recode" list after a release activation (namespace "encounters")."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
