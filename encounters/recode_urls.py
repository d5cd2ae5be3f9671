"""The "needs recode" list after a release activation (namespace "encounters")."""

from django.urls import path

from encounters.views import recode

urlpatterns: list = [
    path("recode/", recode.recode_list, name="recode_list"),
    path("recode/<int:pk>/resolve/", recode.recode_resolve, name="recode_resolve"),
]
