"""/api/v1/audits/ routes."""

from django.urls import path

from audits import api

urlpatterns = [
    path("audits/plans", api.PlanListApi.as_view(), name="api-audit-plans"),
    path("audits/plans/<int:plan_id>", api.PlanDetailApi.as_view(), name="api-audit-plan"),
    path(
        "audits/plans/<int:plan_id>/sample",
        api.PlanSampleApi.as_view(),
        name="api-audit-plan-sample",
    ),
    path(
        "audits/plans/<int:plan_id>/close", api.PlanCloseApi.as_view(), name="api-audit-plan-close"
    ),
    path("audits/items", api.OpenItemListApi.as_view(), name="api-audit-items"),
    path("audits/items/<int:item_id>", api.ItemDetailApi.as_view(), name="api-audit-item"),
    path(
        "audits/items/<int:item_id>/start", api.ItemStartApi.as_view(), name="api-audit-item-start"
    ),
    path(
        "audits/items/<int:item_id>/codes",
        api.ItemCodeAddApi.as_view(),
        name="api-audit-item-codes",
    ),
    path(
        "audits/items/<int:item_id>/codes/<str:kind>/<int:index>",
        api.ItemCodeRemoveApi.as_view(),
        name="api-audit-item-code",
    ),
    path(
        "audits/items/<int:item_id>/complete",
        api.ItemCompleteApi.as_view(),
        name="api-audit-item-complete",
    ),
    path(
        "audits/items/<int:item_id>/close", api.ItemCloseApi.as_view(), name="api-audit-item-close"
    ),
    path("audits/disputes", api.DisputeListApi.as_view(), name="api-audit-disputes"),
    path("audits/my-findings", api.MyFindingListApi.as_view(), name="api-audit-my-findings"),
    path(
        "audits/findings/<int:finding_id>",
        api.FindingDetailApi.as_view(),
        name="api-audit-finding",
    ),
    path(
        "audits/findings/<int:finding_id>/respond",
        api.FindingRespondApi.as_view(),
        name="api-audit-finding-respond",
    ),
    path(
        "audits/findings/<int:finding_id>/resolve",
        api.FindingResolveApi.as_view(),
        name="api-audit-finding-resolve",
    ),
]
