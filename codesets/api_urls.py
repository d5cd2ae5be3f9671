from django.urls import path

from codesets import api, drg_api, release_api

urlpatterns = [
    path("codes/search", api.CodeSearchApi.as_view(), name="api-code-search"),
    path("codes/<str:system>/<str:code>", api.CodeDetailApi.as_view(), name="api-code-detail"),
    path("edits/check", api.EditsCheckApi.as_view(), name="api-edits-check"),
    path("drg/group", drg_api.DrgGroupApi.as_view(), name="api-drg-group"),
    path("releases", release_api.ReleaseListApi.as_view(), name="api-releases"),
    path("releases/<int:release_id>", release_api.ReleaseDetailApi.as_view(), name="api-release"),
    path(
        "releases/<int:release_id>/activate",
        release_api.ReleaseActivateApi.as_view(),
        name="api-release-activate",
    ),
    path(
        "releases/<int:release_id>/retire",
        release_api.ReleaseRetireApi.as_view(),
        name="api-release-retire",
    ),
]
