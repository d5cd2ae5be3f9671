"""REST API for audits: plans (create, sample, close), the blind re-code of an item, findings,
the coder's response (agree / dispute) and the senior's resolution.

Thin: reads through audits/selectors.py, writes through audits/services.py; errors map to HTTP
as in encounters.api.ServiceApiView. Opening an item writes a PHI access record, as the page.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from accounts.permissions import Capability
from audits import selectors, services
from audits import serializers as s
from encounters import selectors as encounter_selectors
from encounters.api import ERRORS, ServiceApiView, _validated

PlanListOut = type("PlanListOut", (serializers.Serializer,), {"results": s.PlanOut(many=True)})


class PlanListApi(ServiceApiView):
    required_capability = Capability.RUN_AUDITS

    @extend_schema(
        operation_id="audit_plans_list",
        responses={200: PlanListOut, **ERRORS},
        summary="Audit plans, newest first",
    )
    def get(self, request: Request) -> Response:
        plans = selectors.plans_for(user=request.user).order_by("-created_at", "-pk")[:200]
        return Response({"results": s.PlanOut(plans, many=True).data})

    @extend_schema(
        request=s.PlanCreateIn,
        responses={201: s.PlanDetailOut, **ERRORS},
        summary="Create a draft audit plan (sample it next)",
    )
    def post(self, request: Request) -> Response:
        data = _validated(s.PlanCreateIn, request.data)
        wanted = set(data["auditors"])
        auditors = list(User.objects.filter(pk__in=wanted, is_active=True))
        if len(auditors) != len(wanted):
            raise DjangoValidationError({"auditors": "An auditor id is not an active user."})
        targets = {k: v for k, v in dict(data["targets"]).items() if v not in (None, [])}
        plan = services.plan_create(
            by=request.user,
            name=data["name"],
            kind=data["kind"],
            party=data["party"],
            method=data["method"],
            percent=data["percent"],
            per_coder=data["per_coder"],
            date_from=data["date_from"],
            date_to=data["date_to"],
            auditors=auditors,
            targets=targets,
            seed=data["seed"],
        )
        return Response(s.PlanDetailOut(plan).data, status=status.HTTP_201_CREATED)


class PlanDetailApi(ServiceApiView):
    required_capability = Capability.RUN_AUDITS

    @extend_schema(responses={200: s.PlanDetailOut, **ERRORS})
    def get(self, request: Request, plan_id: int) -> Response:
        plan = selectors.plan_get_for(user=request.user, pk=plan_id)
        return Response(s.PlanDetailOut(plan).data)


class PlanSampleApi(ServiceApiView):
    required_capability = Capability.RUN_AUDITS

    @extend_schema(
        request=None,
        responses={200: s.PlanDetailOut, **ERRORS},
        summary="Draw the sample (pre-bill encounters are held until their item closes)",
    )
    def post(self, request: Request, plan_id: int) -> Response:
        plan = selectors.plan_get_for(user=request.user, pk=plan_id)
        services.plan_sample(plan=plan, by=request.user)
        plan.refresh_from_db()
        return Response(s.PlanDetailOut(plan).data)


class PlanCloseApi(ServiceApiView):
    required_capability = Capability.RUN_AUDITS

    @extend_schema(request=None, responses={200: s.PlanDetailOut, **ERRORS})
    def post(self, request: Request, plan_id: int) -> Response:
        plan = selectors.plan_get_for(user=request.user, pk=plan_id)
        return Response(s.PlanDetailOut(services.plan_close(plan=plan, by=request.user)).data)


ItemListOut = type("ItemListOut", (serializers.Serializer,), {"results": s.ItemOut(many=True)})


class OpenItemListApi(ServiceApiView):
    required_capability = Capability.RUN_AUDITS

    @extend_schema(
        operation_id="audit_items_list",
        responses={200: ItemListOut, **ERRORS},
        summary="Items I may audit next: mine in progress, or not started in my plans",
    )
    def get(self, request: Request) -> Response:
        items = selectors.open_items_for(user=request.user)[:200]
        return Response({"results": s.ItemOut(items, many=True).data})


class ItemDetailApi(ServiceApiView):
    required_capability = Capability.RUN_AUDITS

    @extend_schema(responses={200: s.ItemOut, **ERRORS})
    def get(self, request: Request, item_id: int) -> Response:
        item = selectors.item_get_for(user=request.user, pk=item_id)
        encounter_selectors.chart_open(
            user=request.user, encounter=item.encounter, documents=[], request=request
        )
        return Response(s.ItemOut(item).data)


def _item_response(request: Request, item_id: int) -> Response:
    item = selectors.item_get_for(user=request.user, pk=item_id)
    return Response(s.ItemOut(item).data)


class ItemStartApi(ServiceApiView):
    required_capability = Capability.RUN_AUDITS

    @extend_schema(request=None, responses={200: s.ItemOut, **ERRORS}, summary="Start re-coding")
    def post(self, request: Request, item_id: int) -> Response:
        item = selectors.item_get_for(user=request.user, pk=item_id)
        services.item_start(item=item, by=request.user)
        return _item_response(request, item_id)


class ItemCodeAddApi(ServiceApiView):
    required_capability = Capability.RUN_AUDITS

    @extend_schema(
        request=s.RecodeAddIn,
        responses={200: s.ItemOut, **ERRORS},
        summary="Add a code to the auditor's blind re-code",
    )
    def post(self, request: Request, item_id: int) -> Response:
        data = _validated(s.RecodeAddIn, request.data)
        item = selectors.item_get_for(user=request.user, pk=item_id)
        services.recode_code_add(item=item, by=request.user, **data)
        return _item_response(request, item_id)


class ItemCodeRemoveApi(ServiceApiView):
    required_capability = Capability.RUN_AUDITS

    @extend_schema(
        request=None,
        responses={200: s.ItemOut, **ERRORS},
        summary="Remove line `index` (0-based) of the re-code's diagnoses or procedures",
    )
    def delete(self, request: Request, item_id: int, kind: str, index: int) -> Response:
        item = selectors.item_get_for(user=request.user, pk=item_id)
        services.recode_code_remove(item=item, by=request.user, kind=kind, index=index)
        return _item_response(request, item_id)


class ItemCompleteApi(ServiceApiView):
    required_capability = Capability.RUN_AUDITS

    @extend_schema(
        request=None,
        responses={200: s.ItemOut, **ERRORS},
        summary="Finish the re-code: compare, one finding per difference",
    )
    def post(self, request: Request, item_id: int) -> Response:
        item = selectors.item_get_for(user=request.user, pk=item_id)
        services.item_complete(item=item, by=request.user)
        return _item_response(request, item_id)


class ItemCloseApi(ServiceApiView):
    required_capability = Capability.RUN_AUDITS

    @extend_schema(request=None, responses={200: s.ItemOut, **ERRORS}, summary="Close an item")
    def post(self, request: Request, item_id: int) -> Response:
        item = selectors.item_get_for(user=request.user, pk=item_id)
        services.item_close(item=item, by=request.user)
        return _item_response(request, item_id)


FindingListOut = type(
    "FindingListOut", (serializers.Serializer,), {"results": s.FindingOut(many=True)}
)


class DisputeListApi(ServiceApiView):
    required_capability = Capability.RUN_AUDITS

    @extend_schema(
        responses={200: FindingListOut, **ERRORS},
        summary="Disputed findings waiting for a senior's resolution",
    )
    def get(self, request: Request) -> Response:
        rows = selectors.disputes_waiting(user=request.user)[:200]
        return Response({"results": s.FindingOut(rows, many=True).data})


class MyFindingListApi(ServiceApiView):
    required_capability = Capability.CODE_ENCOUNTERS

    @extend_schema(responses={200: FindingListOut, **ERRORS}, summary="Findings on my own coding")
    def get(self, request: Request) -> Response:
        rows = selectors.findings_on_work_of(user=request.user)[:200]
        return Response({"results": s.FindingOut(rows, many=True).data})


class FindingDetailApi(ServiceApiView):
    required_capability = Capability.RUN_AUDITS

    @extend_schema(
        request=s.FindingUpdateIn,
        responses={200: s.FindingOut, **ERRORS},
        summary="The auditor's category, severity and note (until the item closes)",
    )
    def patch(self, request: Request, finding_id: int) -> Response:
        data = _validated(s.FindingUpdateIn, request.data)
        finding = selectors.finding_get_for(user=request.user, pk=finding_id)
        updated = services.finding_update(finding=finding, by=request.user, **data)
        return Response(s.FindingOut(updated).data)


class FindingRespondApi(ServiceApiView):
    required_capability = Capability.CODE_ENCOUNTERS

    @extend_schema(
        request=s.FindingRespondIn,
        responses={200: s.FindingOut, **ERRORS},
        summary="The coder agrees with a finding on their work, or disputes it with a reason",
    )
    def post(self, request: Request, finding_id: int) -> Response:
        data = _validated(s.FindingRespondIn, request.data)
        finding = selectors.finding_get_for(user=request.user, pk=finding_id, as_coder=True)
        answered = services.finding_respond(finding=finding, by=request.user, **data)
        return Response(s.FindingOut(answered).data)


class FindingResolveApi(ServiceApiView):
    required_capability = Capability.RUN_AUDITS

    @extend_schema(
        request=s.FindingResolveIn,
        responses={200: s.FindingOut, **ERRORS},
        summary="Uphold or overturn a disputed finding",
    )
    def post(self, request: Request, finding_id: int) -> Response:
        data = _validated(s.FindingResolveIn, request.data)
        finding = selectors.finding_get_for(user=request.user, pk=finding_id)
        resolved = services.finding_resolve(finding=finding, by=request.user, **data)
        return Response(s.FindingOut(resolved).data)
