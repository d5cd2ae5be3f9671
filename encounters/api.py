"""REST API for patients, encounters, documents, code assignments, workflow, queries and reviews.

Thin like the pages: parse with a serializer, read through the user-filtered selectors (which
refuse what the user may not open, and whose reads are written to the PHI access log), write
through the services, serialise. Service errors map to HTTP the same way everywhere
(`ServiceApiView`): a rule broken → 400 with the service's words, a stale `version` → 409,
error edits blocking a submission → 422 listing them, not allowed → 403, missing → 404.
"""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q, QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import PhiAccess, User
from accounts.permissions import Capability, HasCapability
from accounts.services import phi_access_record
from encounters import phi, queries, reviews, selectors, services
from encounters import serializers as s
from encounters.models import Encounter, Patient

# --- error mapping shared by every API module ------------------------------------------------


class ErrorOut(serializers.Serializer):
    detail = serializers.CharField()


class StaleOut(ErrorOut):
    version = serializers.IntegerField(help_text="The encounter's current version.")


class BlockedOut(ErrorOut):
    edits = serializers.ListField(child=serializers.DictField())


def _django_errors(exc: DjangoValidationError) -> Any:
    """A service's ValidationError as DRF error data: field errors by name, else one detail."""
    if hasattr(exc, "error_dict"):
        return {field: [str(m) for m in messages] for field, messages in exc.message_dict.items()}
    return {"detail": " ".join(exc.messages)}


class ServiceApiView(APIView):
    """An APIView that names its capability and turns service exceptions into clear 4xx."""

    permission_classes = [IsAuthenticated, HasCapability]
    required_capability: Capability | None = None

    def handle_exception(self, exc: Exception) -> Response:
        from codesets.importers import ImportFormatError
        from codesets.services import ReleaseError

        if isinstance(exc, services.StaleEdit):
            # Nothing was applied; tell the client the version to reload from.
            return Response(
                {"detail": str(exc), "version": exc.encounter.version},
                status=status.HTTP_409_CONFLICT,
            )
        if isinstance(exc, services.SubmitBlocked):
            return Response(
                {"detail": str(exc), "edits": exc.errors},
                status=status.HTTP_422_UNPROCESSABLE_ENTITY,
            )
        if isinstance(exc, services.WorkflowError):
            # The encounter is not in a state that allows this step (claimed, submitted...).
            return Response(_django_errors(exc), status=status.HTTP_409_CONFLICT)
        if isinstance(exc, DjangoValidationError):
            exc = ValidationError(_django_errors(exc))
        elif isinstance(exc, (ReleaseError, ImportFormatError)):
            exc = ValidationError({"detail": str(exc)})
        return super().handle_exception(exc)


def _validated(serializer_class: type[serializers.Serializer], data: Any) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _page(rows: QuerySet, params: dict) -> tuple[int, list]:
    offset, limit = params["offset"], params["limit"]
    return rows.count(), list(rows[offset : offset + limit])


def _list_of(item: type[serializers.Serializer], name: str) -> type[serializers.Serializer]:
    return type(name, (s.ListOut,), {"results": item(many=True)})


PatientListOut = _list_of(s.PatientOut, "PatientListOut")
EncounterListOut = _list_of(s.EncounterOut, "EncounterListOut")
QueryListOut = _list_of(s.QueryOut, "QueryListOut")

ERRORS = {
    400: OpenApiResponse(ErrorOut, description="Invalid input; field errors by name."),
    403: OpenApiResponse(ErrorOut, description="Your role or assignment does not allow it."),
    404: OpenApiResponse(ErrorOut, description="No such object."),
}
EDIT_ERRORS = {
    **ERRORS,
    409: OpenApiResponse(StaleOut, description="Stale version, or the workflow forbids it."),
}


def _chart(request: Request, pk: int) -> Encounter:
    """An encounter the user may open, its opening written to the PHI access log."""
    encounter = selectors.encounter_get_for(user=request.user, pk=pk)
    selectors.chart_open(user=request.user, encounter=encounter, documents=[], request=request)
    return encounter


def _detail(request: Request, encounter: Encounter, code: int = 200) -> Response:
    encounter.refresh_from_db()
    return Response(s.EncounterDetailOut(encounter).data, status=code)


# --- patients ---------------------------------------------------------------------------------


def patients_visible_to(*, user: User) -> QuerySet[Patient]:
    """Patients with at least one encounter the user may open (selector for the API)."""
    visible = selectors.encounters_visible_to(user=user).values("patient_id")
    return Patient.objects.filter(pk__in=visible)


class PatientListApi(ServiceApiView):
    required_capability = Capability.VIEW_CHARTS

    @extend_schema(
        operation_id="patients_list",
        parameters=[s.PatientListIn],
        responses={200: PatientListOut, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        params = _validated(s.PatientListIn, request.query_params)
        rows = patients_visible_to(user=request.user).order_by("last_name", "first_name", "pk")
        if params.get("q"):
            q = params["q"].strip()
            rows = rows.filter(Q(mrn=q) | Q(last_name__istartswith=q))
        count, page = _page(rows, params)
        return Response({"count": count, "results": s.PatientOut(page, many=True).data})


class PatientDetailApi(ServiceApiView):
    required_capability = Capability.VIEW_CHARTS

    @extend_schema(responses={200: s.PatientDetailOut, **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        patient = Patient.objects.filter(pk=pk).first()
        if patient is None:
            raise Http404("No such patient.")
        encounters = list(
            selectors.encounters_visible_to(user=request.user)
            .filter(patient=patient)
            .order_by("-admit_date", "-pk")
        )
        if not encounters:
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied("None of this patient's encounters is in your queue.")
        ip, agent = selectors._client(request)
        phi_access_record(
            user=request.user,
            action=PhiAccess.Action.VIEW_PATIENT,
            patient_id=patient.pk,
            ip_address=ip,
            user_agent=agent,
        )
        return Response(s.PatientDetailOut(patient, context={"encounters": encounters}).data)


# --- encounters -------------------------------------------------------------------------------


class EncounterListApi(ServiceApiView):
    """GET: my queue (assigned to me and the claimable pool); POST: intake a new encounter."""

    def get_permissions(self):
        self.required_capability = (
            Capability.CODE_ENCOUNTERS if self.request.method == "GET" else Capability.INTAKE_CHARTS
        )
        return super().get_permissions()

    @extend_schema(
        operation_id="encounters_list",
        parameters=[s.EncounterListIn],
        responses={200: EncounterListOut, **ERRORS},
        summary="My queue: encounters assigned to me and the unassigned pool",
    )
    def get(self, request: Request) -> Response:
        params = _validated(s.EncounterListIn, request.query_params)
        filters = selectors.QueueFilters(
            scope=params["scope"],
            type=params.get("type", ""),
            payer=params.get("payer", ""),
            status=params.get("status", ""),
            due_before=params.get("due_before"),
        )
        rows = selectors.encounter_queue_for(user=request.user, filters=filters)
        count, page = _page(rows, params)
        return Response({"count": count, "results": s.EncounterOut(page, many=True).data})

    @extend_schema(
        request=s.EncounterCreateIn,
        responses={201: s.EncounterDetailOut, **ERRORS},
        summary="Intake: a new encounter (and its patient, unless the MRN is known)",
    )
    def post(self, request: Request) -> Response:
        data = _validated(s.EncounterCreateIn, request.data)
        encounter = services.encounter_intake(by=request.user, data=data)
        return _detail(request, encounter, status.HTTP_201_CREATED)


class EncounterDetailApi(ServiceApiView):
    required_capability = Capability.VIEW_CHARTS

    @extend_schema(responses={200: s.EncounterDetailOut, **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        return _detail(request, _chart(request, pk))


class EncounterReleaseApi(ServiceApiView):
    required_capability = Capability.INTAKE_CHARTS

    @extend_schema(
        request=None,
        responses={200: s.EncounterDetailOut, **EDIT_ERRORS},
        summary="Release an intake encounter to the coding queue",
    )
    def post(self, request: Request, pk: int) -> Response:
        encounter = selectors.encounter_get_for(user=request.user, pk=pk)
        return _detail(
            request, services.encounter_release_to_queue(encounter=encounter, by=request.user)
        )


class EncounterClaimApi(ServiceApiView):
    required_capability = Capability.CODE_ENCOUNTERS

    @extend_schema(
        request=None,
        responses={200: s.EncounterDetailOut, **EDIT_ERRORS},
        summary="Claim an encounter from the pool (409 if another coder has it)",
    )
    def post(self, request: Request, pk: int) -> Response:
        encounter = selectors.encounter_get_for(user=request.user, pk=pk)
        return _detail(request, services.encounter_claim(encounter=encounter, by=request.user))


class EncounterSubmitApi(ServiceApiView):
    required_capability = Capability.CODE_ENCOUNTERS

    @extend_schema(
        request=s.SubmitIn,
        responses={
            200: s.EncounterDetailOut,
            **EDIT_ERRORS,
            422: OpenApiResponse(BlockedOut, description="Error edits block the submission."),
        },
        summary="Submit the coding for review",
    )
    def post(self, request: Request, pk: int) -> Response:
        data = _validated(s.SubmitIn, request.data)
        encounter = selectors.encounter_get_for(user=request.user, pk=pk)
        services.encounter_submit(
            encounter=encounter,
            by=request.user,
            version=data["version"],
            override_reason=data["override_reason"],
        )
        return _detail(request, encounter)


class EncounterEscalateApi(ServiceApiView):
    required_capability = Capability.CODE_ENCOUNTERS

    @extend_schema(
        request=s.EscalateIn,
        responses={200: s.EncounterDetailOut, **EDIT_ERRORS},
        summary="Escalate to the complex-case queue, saying why",
    )
    def post(self, request: Request, pk: int) -> Response:
        data = _validated(s.EscalateIn, request.data)
        encounter = selectors.encounter_get_for(user=request.user, pk=pk)
        services.encounter_escalate(
            encounter=encounter, by=request.user, version=data["version"], reason=data["reason"]
        )
        return _detail(request, encounter)


# --- documents --------------------------------------------------------------------------------


class DocumentListApi(ServiceApiView):
    def get_permissions(self):
        self.required_capability = (
            Capability.VIEW_CHARTS if self.request.method == "GET" else Capability.INTAKE_CHARTS
        )
        return super().get_permissions()

    @extend_schema(responses={200: s.DocumentSummaryOut(many=True), **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        encounter = _chart(request, pk)
        rows = encounter.documents.order_by("written_on", "pk")
        return Response(s.DocumentSummaryOut(rows, many=True).data)

    @extend_schema(
        request=s.DocumentCreateIn,
        responses={201: s.DocumentOut, **ERRORS},
        summary="Add a typed (plain text) document",
    )
    def post(self, request: Request, pk: int) -> Response:
        data = _validated(s.DocumentCreateIn, request.data)
        encounter = selectors.encounter_get_for(user=request.user, pk=pk)
        document = services.document_create(by=request.user, encounter=encounter, **data)
        return Response(s.DocumentOut(document).data, status=status.HTTP_201_CREATED)


class BreakGlassApi(ServiceApiView):
    required_capability = Capability.VIEW_CHARTS

    @extend_schema(
        request=s.BreakGlassIn,
        responses={201: s.BreakGlassOut, **ERRORS},
        summary="Break the glass: open a chart outside your work for a while, with a reason",
    )
    def post(self, request: Request, pk: int) -> Response:
        data = _validated(s.BreakGlassIn, request.data)
        encounter = Encounter.objects.filter(pk=pk).first()
        if encounter is None:
            raise Http404("No such encounter.")
        glass = phi.break_glass_open(
            user=request.user,
            encounter=encounter,
            reason=data["reason"],
            ip_address=request.META.get("REMOTE_ADDR"),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
        return Response(s.BreakGlassOut(glass).data, status=status.HTTP_201_CREATED)


class DocumentUploadApi(ServiceApiView):
    required_capability = Capability.INTAKE_CHARTS
    parser_classes = [MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": s.DocumentUploadIn},
        responses={201: s.DocumentOut, **ERRORS},
        summary="Upload a document (plain text or PDF; the text is extracted, the file kept)",
    )
    def post(self, request: Request, pk: int) -> Response:
        data = _validated(s.DocumentUploadIn, request.data)
        encounter = selectors.encounter_get_for(user=request.user, pk=pk)
        document = services.document_upload(
            by=request.user,
            encounter=encounter,
            note_type=data["note_type"],
            title=data["title"],
            written_on=data["written_on"],
            author=data["author"],
            uploaded=data["file"],
        )
        return Response(s.DocumentOut(document).data, status=status.HTTP_201_CREATED)


class DocumentDetailApi(ServiceApiView):
    required_capability = Capability.VIEW_CHARTS

    @extend_schema(responses={200: s.DocumentOut, **ERRORS})
    def get(self, request: Request, pk: int, document_id: int) -> Response:
        encounter = selectors.encounter_get_for(user=request.user, pk=pk)
        document = selectors.document_get_for(
            user=request.user, encounter=encounter, pk=document_id
        )
        selectors.document_open(user=request.user, document=document, request=request)
        return Response(s.DocumentOut(document).data)


# --- code assignments -------------------------------------------------------------------------

VERSION_PARAM = OpenApiParameter(
    "version", int, required=True, description="The encounter version you last read."
)


class DiagnosisListApi(ServiceApiView):
    def get_permissions(self):
        self.required_capability = (
            Capability.VIEW_CHARTS if self.request.method == "GET" else Capability.CODE_ENCOUNTERS
        )
        return super().get_permissions()

    @extend_schema(responses={200: s.DiagnosisOut(many=True), **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        encounter = _chart(request, pk)
        return Response(s.DiagnosisOut(encounter.diagnoses.order_by("sequence"), many=True).data)

    @extend_schema(
        request=s.DiagnosisAddIn,
        responses={201: s.EncounterDetailOut, **EDIT_ERRORS},
        summary="Add an ICD-10-CM diagnosis (checked against the release in force)",
    )
    def post(self, request: Request, pk: int) -> Response:
        data = _validated(s.DiagnosisAddIn, request.data)
        encounter = selectors.encounter_get_for(user=request.user, pk=pk)
        services.diagnosis_add(
            encounter=encounter,
            by=request.user,
            version=data["version"],
            code=data["code"],
            poa=data["poa"],
            position=data.get("position"),
        )
        return _detail(request, encounter, status.HTTP_201_CREATED)


class DiagnosisDetailApi(ServiceApiView):
    required_capability = Capability.CODE_ENCOUNTERS

    @extend_schema(
        request=s.DiagnosisUpdateIn,
        responses={200: s.EncounterDetailOut, **EDIT_ERRORS},
        summary="Change a diagnosis's POA indicator",
    )
    def patch(self, request: Request, pk: int, diagnosis_id: int) -> Response:
        data = _validated(s.DiagnosisUpdateIn, request.data)
        encounter = selectors.encounter_get_for(user=request.user, pk=pk)
        services.diagnosis_set_poa(
            encounter=encounter,
            by=request.user,
            version=data["version"],
            diagnosis_id=diagnosis_id,
            poa=data["poa"],
        )
        return _detail(request, encounter)

    @extend_schema(
        parameters=[VERSION_PARAM],
        responses={200: s.EncounterDetailOut, **EDIT_ERRORS},
        summary="Remove a diagnosis (the others are renumbered)",
    )
    def delete(self, request: Request, pk: int, diagnosis_id: int) -> Response:
        data = _validated(s.VersionIn, request.query_params)
        encounter = selectors.encounter_get_for(user=request.user, pk=pk)
        services.diagnosis_remove(
            encounter=encounter, by=request.user, version=data["version"], diagnosis_id=diagnosis_id
        )
        return _detail(request, encounter)


class DiagnosisMoveApi(ServiceApiView):
    required_capability = Capability.CODE_ENCOUNTERS

    @extend_schema(
        request=s.MoveIn,
        responses={200: s.EncounterDetailOut, **EDIT_ERRORS},
        summary="Move a diagnosis to a position (1 = principal)",
    )
    def post(self, request: Request, pk: int, diagnosis_id: int) -> Response:
        data = _validated(s.MoveIn, request.data)
        encounter = selectors.encounter_get_for(user=request.user, pk=pk)
        services.diagnosis_move(
            encounter=encounter,
            by=request.user,
            version=data["version"],
            diagnosis_id=diagnosis_id,
            position=data["position"],
        )
        return _detail(request, encounter)


class EvidenceApi(ServiceApiView):
    required_capability = Capability.CODE_ENCOUNTERS

    @extend_schema(
        request=s.EvidenceIn,
        responses={200: s.EncounterDetailOut, **EDIT_ERRORS},
        summary="Link a diagnosis or procedure to the passage of a document that supports it",
    )
    def post(self, request: Request, pk: int) -> Response:
        data = _validated(s.EvidenceIn, request.data)
        encounter = selectors.encounter_get_for(user=request.user, pk=pk)
        services.evidence_attach(encounter=encounter, by=request.user, **data)
        return _detail(request, encounter)


class ProcedureListApi(ServiceApiView):
    def get_permissions(self):
        self.required_capability = (
            Capability.VIEW_CHARTS if self.request.method == "GET" else Capability.CODE_ENCOUNTERS
        )
        return super().get_permissions()

    @extend_schema(responses={200: s.ProcedureOut(many=True), **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        encounter = _chart(request, pk)
        return Response(s.ProcedureOut(encounter.procedures.order_by("sequence"), many=True).data)

    @extend_schema(
        request=s.ProcedureAddIn,
        responses={201: s.EncounterDetailOut, **EDIT_ERRORS},
        summary="Add a procedure line (ICD-10-PCS, HCPCS or CPT as the encounter type allows)",
    )
    def post(self, request: Request, pk: int) -> Response:
        data = _validated(s.ProcedureAddIn, request.data)
        encounter = selectors.encounter_get_for(user=request.user, pk=pk)
        services.procedure_add(
            encounter=encounter,
            by=request.user,
            version=data["version"],
            code=data["code"],
            system=data.get("system"),
            modifiers=data["modifiers"],
            units=data["units"],
            performed_on=data["performed_on"],
            diagnosis_pointers=data["diagnosis_pointers"],
        )
        return _detail(request, encounter, status.HTTP_201_CREATED)


class ProcedureDetailApi(ServiceApiView):
    required_capability = Capability.CODE_ENCOUNTERS

    @extend_schema(
        request=s.ProcedureLineIn,
        responses={200: s.EncounterDetailOut, **EDIT_ERRORS},
        summary="Change a line's modifiers, units, date and diagnosis pointers",
    )
    def put(self, request: Request, pk: int, procedure_id: int) -> Response:
        data = _validated(s.ProcedureLineIn, request.data)
        encounter = selectors.encounter_get_for(user=request.user, pk=pk)
        services.procedure_update(
            encounter=encounter,
            by=request.user,
            version=data["version"],
            procedure_id=procedure_id,
            modifiers=data["modifiers"],
            units=data["units"],
            performed_on=data["performed_on"],
            diagnosis_pointers=data["diagnosis_pointers"],
        )
        return _detail(request, encounter)

    @extend_schema(
        parameters=[VERSION_PARAM],
        responses={200: s.EncounterDetailOut, **EDIT_ERRORS},
        summary="Remove a procedure line",
    )
    def delete(self, request: Request, pk: int, procedure_id: int) -> Response:
        data = _validated(s.VersionIn, request.query_params)
        encounter = selectors.encounter_get_for(user=request.user, pk=pk)
        services.procedure_remove(
            encounter=encounter, by=request.user, version=data["version"], procedure_id=procedure_id
        )
        return _detail(request, encounter)


class ProcedureMoveApi(ServiceApiView):
    required_capability = Capability.CODE_ENCOUNTERS

    @extend_schema(
        request=s.MoveIn,
        responses={200: s.EncounterDetailOut, **EDIT_ERRORS},
        summary="Move a procedure line to a position",
    )
    def post(self, request: Request, pk: int, procedure_id: int) -> Response:
        data = _validated(s.MoveIn, request.data)
        encounter = selectors.encounter_get_for(user=request.user, pk=pk)
        services.procedure_move(
            encounter=encounter,
            by=request.user,
            version=data["version"],
            procedure_id=procedure_id,
            position=data["position"],
        )
        return _detail(request, encounter)


# --- physician queries ------------------------------------------------------------------------


class QueryAgingApi(ServiceApiView):
    required_capability = Capability.MANAGE_QUERIES

    @extend_schema(
        parameters=[s.QueryListIn],
        responses={200: QueryListOut, **ERRORS},
        summary="Query aging: open queries oldest first, or closed ones newest first",
    )
    def get(self, request: Request) -> Response:
        params = _validated(s.QueryListIn, request.query_params)
        rows = queries.query_aging_for(
            user=request.user, tab=params["tab"], provider=params.get("provider", "")
        )
        count, page = _page(rows, params)
        return Response({"count": count, "results": s.QueryOut(page, many=True).data})


class EncounterQueryListApi(ServiceApiView):
    required_capability = Capability.MANAGE_QUERIES

    @extend_schema(responses={200: s.QueryOut(many=True), **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        encounter = _chart(request, pk)
        rows = queries.queries_visible_to(user=request.user).filter(encounter=encounter)
        return Response(s.QueryOut(rows.order_by("sent_at", "pk"), many=True).data)

    @extend_schema(
        request=s.QueryCreateIn,
        responses={201: s.QueryOut, **EDIT_ERRORS},
        summary="Send a compliant physician query (leading wording is refused)",
    )
    def post(self, request: Request, pk: int) -> Response:
        data = _validated(s.QueryCreateIn, request.data)
        encounter = selectors.encounter_get_for(user=request.user, pk=pk)
        query = queries.query_send(
            encounter=encounter,
            by=request.user,
            kind=data["kind"],
            provider=data["provider"],
            question=data["question"],
            clinical_indicators=[dict(i) for i in data["clinical_indicators"]],
            options=data["options"],
        )
        return Response(s.QueryOut(query).data, status=status.HTTP_201_CREATED)


class QueryAnswerApi(ServiceApiView):
    required_capability = Capability.MANAGE_QUERIES

    @extend_schema(
        request=s.QueryAnswerIn,
        responses={200: s.QueryOut, **ERRORS},
        summary="Record the provider's answer",
    )
    def post(self, request: Request, pk: int, query_id: int) -> Response:
        data = _validated(s.QueryAnswerIn, request.data)
        encounter = selectors.encounter_get_for(user=request.user, pk=pk)
        query = queries.query_get_for(user=request.user, encounter=encounter, pk=query_id)
        answered = queries.query_answer(query=query, by=request.user, **data)
        return Response(s.QueryOut(answered).data)


class QueryWithdrawApi(ServiceApiView):
    required_capability = Capability.MANAGE_QUERIES

    @extend_schema(
        request=s.ReasonIn, responses={200: s.QueryOut, **ERRORS}, summary="Withdraw a query"
    )
    def post(self, request: Request, pk: int, query_id: int) -> Response:
        data = _validated(s.ReasonIn, request.data)
        encounter = selectors.encounter_get_for(user=request.user, pk=pk)
        query = queries.query_get_for(user=request.user, encounter=encounter, pk=query_id)
        withdrawn = queries.query_withdraw(query=query, by=request.user, reason=data["reason"])
        return Response(s.QueryOut(withdrawn).data)


# --- reviews ----------------------------------------------------------------------------------


class ReviewQueueApi(ServiceApiView):
    required_capability = Capability.REVIEW_JUNIORS

    @extend_schema(
        parameters=[s.PageIn],
        responses={200: EncounterListOut, **ERRORS},
        summary="Encounters waiting for review that someone else submitted, oldest first",
    )
    def get(self, request: Request) -> Response:
        params = _validated(s.PageIn, request.query_params)
        count, page = _page(reviews.review_queue_for(user=request.user), params)
        return Response({"count": count, "results": s.EncounterOut(page, many=True).data})


class EncounterReviewListApi(ServiceApiView):
    required_capability = Capability.VIEW_CHARTS

    @extend_schema(responses={200: s.ReviewOut(many=True), **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        encounter = _chart(request, pk)
        return Response(s.ReviewOut(reviews.reviews_of(encounter=encounter), many=True).data)


class _ReviewDecisionApi(ServiceApiView):
    required_capability = Capability.REVIEW_JUNIORS
    decide = staticmethod(reviews.review_accept)

    def post(self, request: Request, pk: int) -> Response:
        data = _validated(s.ReviewDecisionIn, request.data)
        encounter = selectors.encounter_get_for(user=request.user, pk=pk)
        review = self.decide(
            encounter=encounter,
            by=request.user,
            version=data["version"],
            summary=data["summary"],
            comments=[reviews.CommentInput(**dict(c)) for c in data["comments"]],
        )
        return Response(s.ReviewOut(review).data)


class ReviewAcceptApi(_ReviewDecisionApi):
    decide = staticmethod(reviews.review_accept)

    @extend_schema(
        request=s.ReviewDecisionIn,
        responses={200: s.ReviewOut, **EDIT_ERRORS},
        summary="Accept the submitted coding (comments may still teach)",
    )
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)


class ReviewReturnApi(_ReviewDecisionApi):
    decide = staticmethod(reviews.review_return)

    @extend_schema(
        request=s.ReviewDecisionIn,
        responses={200: s.ReviewOut, **EDIT_ERRORS},
        summary="Return the encounter to its coder with comments or a summary",
    )
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)
