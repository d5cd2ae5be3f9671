"""Guideline bulletins and release digests (audits/bulletin_views.py)."""

from django.urls import path

from audits import bulletin_views

urlpatterns = [
    path("bulletins/", bulletin_views.bulletins, name="bulletins"),
    path("bulletins/new/", bulletin_views.bulletin_new, name="bulletin_new"),
    path("bulletins/published/", bulletin_views.bulletins_published, name="bulletins_published"),
    path("bulletins/<int:bulletin_id>/", bulletin_views.bulletin_detail, name="bulletin_detail"),
    path(
        "bulletins/<int:bulletin_id>/acknowledge/",
        bulletin_views.bulletin_acknowledge,
        name="bulletin_acknowledge",
    ),
    path(
        "bulletins/<int:bulletin_id>/withdraw/",
        bulletin_views.bulletin_withdraw,
        name="bulletin_withdraw",
    ),
]
