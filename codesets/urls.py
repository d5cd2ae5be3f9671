from django.urls import include, path

from codesets import views

app_name = "codesets"

urlpatterns = [
    path("", views.search, name="search"),
    path("releases/", views.releases, name="releases"),
    path("releases/compare/", views.release_compare, name="release_compare"),
    path("releases/<int:old_id>/diff/<int:new_id>/", views.release_diff, name="release_diff"),
    # before the code catch-all below
    path("", include("codesets.release_admin_urls")),
    path("", include("codesets.coverage_urls")),
    path("<str:system>/<str:code>/", views.code_detail, name="code_detail"),
]
