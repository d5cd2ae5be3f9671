"""Audit plans, samples, blind re-coding and findings (namespace "audits")."""

from django.urls import path

from audits import views

urlpatterns = [
    path("plans/", views.plan_list, name="plan_list"),
    path("plans/new/", views.plan_new, name="plan_new"),
    path("plans/<int:pk>/", views.plan_detail, name="plan_detail"),
    path("plans/<int:pk>/sample/", views.plan_sample, name="plan_sample"),
    path("plans/<int:pk>/close/", views.plan_close, name="plan_close"),
    path("items/<int:pk>/", views.item_detail, name="item_detail"),
    path("items/<int:pk>/start/", views.item_start, name="item_start"),
    path("items/<int:pk>/codes/add/", views.item_code_add, name="item_code_add"),
    path("items/<int:pk>/codes/remove/", views.item_code_remove, name="item_code_remove"),
    path("items/<int:pk>/codes/move/", views.item_code_move, name="item_code_move"),
    path("items/<int:pk>/codes/line/", views.item_code_line, name="item_code_line"),
    path("items/<int:pk>/complete/", views.item_complete, name="item_complete"),
    path("items/<int:pk>/close/", views.item_close, name="item_close"),
    path("findings/<int:pk>/edit/", views.finding_edit, name="finding_edit"),
    path("findings/<int:pk>/respond/", views.finding_respond, name="finding_respond"),
    path("findings/<int:pk>/resolve/", views.finding_resolve, name="finding_resolve"),
    path("my-findings/", views.my_findings, name="my_findings"),
    path("disputes/", views.disputes, name="disputes"),
]
