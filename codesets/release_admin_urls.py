"""Release administration: upload, progress, schedule, feeds (namespace "codesets")."""

from django.urls import path

from codesets import feed_views
from codesets import release_admin_views as views

urlpatterns = [
    path("releases/new/", views.release_upload, name="release_upload"),
    path("releases/new/details/", views.release_confirm, name="release_confirm"),
    path("releases/<int:release_id>/", views.release_detail, name="release_detail"),
    path("releases/<int:release_id>/progress/", views.release_progress, name="release_progress"),
    path("releases/<int:release_id>/activate/", views.release_activate, name="release_activate"),
    path("releases/<int:release_id>/schedule/", views.release_schedule, name="release_schedule"),
    path("releases/<int:release_id>/retire/", views.release_retire, name="release_retire"),
    path("releases/feeds/", feed_views.feed_list, name="feeds"),
    path("releases/feeds/<int:pk>/check/", feed_views.feed_check, name="feed_check"),
    path("releases/feeds/<int:pk>/deactivate/", feed_views.feed_deactivate, name="feed_deactivate"),
]
