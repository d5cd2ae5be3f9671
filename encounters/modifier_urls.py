"""Modifier picker and units guidance of the workspace (namespace "encounters")."""

from django.urls import path

from encounters.views.modifiers import modifier_guidance, modifier_options

urlpatterns: list = [
    path("<int:pk>/modifiers/options/", modifier_options, name="modifier_options"),
    path("<int:pk>/modifiers/guidance/", modifier_guidance, name="modifier_guidance"),
]
