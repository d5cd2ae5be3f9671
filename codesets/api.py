"""REST API for the code database. Thin: parse, call a selector, serialise."""

from datetime import date

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import Capability, HasCapability
from codesets import selectors
from codesets.importers import SYSTEMS
from codesets.search import NoReleaseInForce, code_search

SEARCHABLE_SYSTEMS = ["icd10cm", "icd10pcs", "hcpcs", "cpt", "icd10who", "modifier"]


class CodeSearchInput(serializers.Serializer):
    system = serializers.ChoiceField(choices=SEARCHABLE_SYSTEMS, default="icd10cm")
    q = serializers.CharField(max_length=200, trim_whitespace=True)
    limit = serializers.IntegerField(min_value=1, max_value=200, default=20)
    date = serializers.DateField(required=False)


class CodeHitOutput(serializers.Serializer):
    system = serializers.CharField()
    code = serializers.CharField()
    description = serializers.CharField()
    billable = serializers.BooleanField()


class CodeSearchOutput(serializers.Serializer):
    results = CodeHitOutput(many=True)


class CodeSearchApi(APIView):
    permission_classes = [IsAuthenticated, HasCapability]
    required_capability = Capability.SEARCH_CODES

    @extend_schema(
        parameters=[CodeSearchInput],
        responses=CodeSearchOutput,
        summary="Search codes of one system in the release in force on a date",
    )
    def get(self, request: Request) -> Response:
        params = CodeSearchInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        try:
            hits = code_search(
                system=data["system"], query=data["q"], limit=data["limit"], on=data.get("date")
            )
        except NoReleaseInForce as exc:
            raise ValidationError({"date": [str(exc)]}) from exc
        return Response({"results": [hit.as_dict() for hit in hits]})


class CodeDetailApi(APIView):
    permission_classes = [IsAuthenticated, HasCapability]
    required_capability = Capability.SEARCH_CODES

    @extend_schema(
        parameters=[OpenApiParameter("date", date, description="Date of service (default today)")],
        summary="One code with its notes, hierarchy, 7th characters, PCS axes and history",
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request, system: str, code: str) -> Response:
        if system not in SYSTEMS:
            raise NotFound(f"Unknown code system {system!r}.")
        on = None
        if request.query_params.get("date"):
            try:
                on = date.fromisoformat(request.query_params["date"])
            except ValueError as exc:
                raise ValidationError({"date": ["Use YYYY-MM-DD."]}) from exc
        detail = selectors.code_detail(system=system, code=code, on=on)
        if detail is None:
            raise NotFound(f"{code} is not a {system} code in the release in force.")
        return Response(detail)


class EditOutput(serializers.Serializer):
    rule = serializers.CharField()
    severity = serializers.ChoiceField(choices=["error", "warning", "info"])
    codes = serializers.ListField(child=serializers.CharField())
    message = serializers.CharField()
    reference = serializers.CharField()


class EditsCheckOutput(serializers.Serializer):
    edits = EditOutput(many=True)


class EditsCheckApi(APIView):
    """The encounter is validated by `encounter_from_json` (one parser for API, CLI and page),
    not a serializer: it must refuse unknown fields by name at every level."""

    permission_classes = [IsAuthenticated, HasCapability]
    required_capability = Capability.CODE_ENCOUNTERS

    @extend_schema(
        request={"application/json": {"type": "object"}},
        responses=EditsCheckOutput,
        summary="Run every edit (tabular notes, MCE/IOCE, NCCI PTP/MUE, modifiers) on an encounter",
    )
    def post(self, request: Request) -> Response:
        from codesets.edits import EncounterError, check, encounter_from_json

        try:
            encounter = encounter_from_json(request.data)
        except EncounterError as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        return Response({"edits": [edit.as_dict() for edit in check(encounter)]})
