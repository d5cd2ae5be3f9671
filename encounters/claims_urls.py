"""Claims, denials and resubmission (included by encounters/urls.py, namespace "encounters")."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
