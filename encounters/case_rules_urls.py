"""Automatic complex-case rules: see and tune (namespace "encounters")."""

from django.urls import path

from encounters.views.case_rules import case_rules_page

urlpatterns: list = [
    path("complex/rules/", case_rules_page, name="case_rules"),
]
