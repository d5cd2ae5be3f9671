from django.urls import path

from codesets import api

urlpatterns = [
    path("codes/search", api.CodeSearchApi.as_view(), name="api-code-search"),
    path("codes/<str:system>/<str:code>", api.CodeDetailApi.as_view(), name="api-code-detail"),
    path("edits/check", api.EditsCheckApi.as_view(), name="api-edits-check"),
]
