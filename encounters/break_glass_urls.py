"""Break the glass and its review (namespace "encounters")."""

from django.urls import path

from encounters.views import break_glass

urlpatterns: list = [
    path("<int:pk>/break-glass/", break_glass.break_glass, name="break_glass"),
    path(
        "break-glass/<int:glass_id>/review/",
        break_glass.break_glass_review,
        name="break_glass_review",
    ),
]
