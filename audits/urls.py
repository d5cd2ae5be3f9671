from django.urls import include, path

from audits import views

app_name = "audits"

urlpatterns = [
    path("", views.home, name="home"),
    path("", include("audits.plan_urls")),
    path("", include("audits.quality_urls")),
]
