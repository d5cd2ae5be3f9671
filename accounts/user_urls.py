"""User administration pages (namespace "accounts")."""

from django.urls import path

from accounts import user_views

urlpatterns = [
    path("users/", user_views.user_list, name="users"),
    path("users/new/", user_views.user_new, name="user_new"),
    path("users/<int:user_id>/", user_views.user_detail, name="user_detail"),
    path("users/<int:user_id>/role/", user_views.user_role, name="user_role"),
    path("users/<int:user_id>/details/", user_views.user_details, name="user_details"),
    path("users/<int:user_id>/deactivate/", user_views.user_deactivate, name="user_deactivate"),
    path("users/<int:user_id>/reactivate/", user_views.user_reactivate, name="user_reactivate"),
    path(
        "users/<int:user_id>/reset-password/",
        user_views.user_reset_password,
        name="user_reset_password",
    ),
    path("users/<int:user_id>/reset-mfa/", user_views.user_reset_mfa, name="user_reset_mfa"),
    path("users/<int:user_id>/unlock/", user_views.user_unlock, name="user_unlock"),
    path(
        "set-password/<str:uidb64>/<str:token>/",
        user_views.set_password,
        name="set_password",
    ),
]
