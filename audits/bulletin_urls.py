"""Guideline bulletins and release digests (audits/bulletin_views.py)."""

from django.urls import path

from audits import bulletin_views

urlpatterns = [
    path("bulletins/", bulletin_views.bulletins, name="bulletins"),
]
