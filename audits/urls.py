from django.urls import include, path

from audits import views

app_name = "audits"

urlpatterns = [
    path("", views.home, name="home"),
    path("", include("audits.plan_urls")),
    path("", include("audits.quality_urls")),
    path("", include("audits.research_urls")),  # issue 9: research reports
    path("", include("audits.provider_urls")),  # issue 9: provider documentation feedback
    path("", include("audits.practice_urls")),  # issue 9: practice charts
    path("", include("audits.bulletin_urls")),  # issue 9: bulletins and release digests
]
