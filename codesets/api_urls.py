from django.urls import path

from codesets import api, drg_api

urlpatterns = [
    path("codes/search", api.CodeSearchApi.as_view(), name="api-code-search"),
    path("codes/<str:system>/<str:code>", api.CodeDetailApi.as_view(), name="api-code-detail"),
    path("edits/check", api.EditsCheckApi.as_view(), name="api-edits-check"),
    path("drg/group", drg_api.DrgGroupApi.as_view(), name="api-drg-group"),
]
