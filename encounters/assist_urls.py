"""URLs of the coding assistant: the workspace panel and the acceptance-rate report
(encounters/views/assist.py)."""

from django.urls import path

from encounters.views import assist

urlpatterns = [
    path("<int:pk>/suggestions/", assist.assist_panel, name="assist_panel"),
    path("<int:pk>/suggestions/accept/", assist.suggestion_accept, name="suggestion_accept"),
    path("<int:pk>/suggestions/reject/", assist.suggestion_reject, name="suggestion_reject"),
    path("suggestions/acceptance/", assist.acceptance_report, name="assist_acceptance"),
]
