from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from coding_bench import views

urlpatterns = [
    path("", include("accounts.urls")),
    path("codes/", include("codesets.urls")),
    path("encounters/", include("encounters.urls")),
    path("audits/", include("audits.urls")),
    path("api/v1/", include("codesets.api_urls")),
    path("api/v1/", include("encounters.api_urls")),
    path("api/v1/", include("audits.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script from a URL: the CSP allows no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("health/", views.health, name="health"),
    path("django-admin/", admin.site.urls),
]
