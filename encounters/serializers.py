"""API shapes for patients, encounters, documents, codes, queries and reviews.

Input serializers only check types and sizes; every rule (codes in the release in force, POA
for inpatient stays only, version checks, workflow steps) stays in the services they feed.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from encounters.models import (
    DiagnosisAssignment,
    Document,
    Encounter,
    Patient,
    PhysicianQuery,
    ProcedureAssignment,
    Review,
    ReviewComment,
)

POA_CHOICES = [("", "Not reported"), *DiagnosisAssignment.Poa.choices]

# Sizes that keep a request sane; the services and the model fields hold the real limits.
MAX_TEXT = 1_000_000
MAX_SHORT = 200
MAX_ID = 2**63 - 1  # ids beyond a bigint are refused here, not by the database


class VersionField(serializers.IntegerField):
    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**31 - 1)
        kwargs.setdefault(
            "help_text",
            "The encounter version you last read; a stale one is refused with 409 Conflict.",
        )
        super().__init__(**kwargs)


# --- output -----------------------------------------------------------------------------------


class PatientOut(serializers.ModelSerializer):
    class Meta:
        model = Patient
        fields = ["id", "mrn", "first_name", "last_name", "birth_date", "sex", "coverage"]


class EncounterOut(serializers.ModelSerializer):
    patient = PatientOut()
    assignee = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = Encounter
        fields = [
            "id",
            "account_number",
            "type",
            "status",
            "version",
            "admit_date",
            "discharge_date",
            "discharge_status",
            "due_date",
            "priority",
            "provider",
            "payer",
            "assignee",
            "escalation_reason",
            "complexity_flags",
            "patient",
        ]


class DiagnosisOut(serializers.ModelSerializer):
    class Meta:
        model = DiagnosisAssignment
        fields = ["id", "sequence", "code", "description", "poa"]


class ProcedureOut(serializers.ModelSerializer):
    modifiers = serializers.ListField(child=serializers.CharField())
    diagnosis_pointers = serializers.ListField(child=serializers.IntegerField())

    class Meta:
        model = ProcedureAssignment
        fields = [
            "id",
            "sequence",
            "system",
            "code",
            "description",
            "modifiers",
            "units",
            "performed_on",
            "diagnosis_pointers",
        ]


class DocumentSummaryOut(serializers.ModelSerializer):
    class Meta:
        model = Document
        fields = ["id", "note_type", "title", "author", "written_on", "source", "created_at"]


class DocumentOut(serializers.ModelSerializer):
    class Meta:
        model = Document
        fields = [*DocumentSummaryOut.Meta.fields, "text"]


class EncounterDetailOut(EncounterOut):
    diagnoses = serializers.SerializerMethodField()
    procedures = serializers.SerializerMethodField()
    documents = serializers.SerializerMethodField()

    class Meta(EncounterOut.Meta):
        fields = [*EncounterOut.Meta.fields, "diagnoses", "procedures", "documents"]

    @extend_schema_field(DiagnosisOut(many=True))
    def get_diagnoses(self, encounter: Encounter) -> list[dict]:
        return DiagnosisOut(encounter.diagnoses.order_by("sequence"), many=True).data

    @extend_schema_field(ProcedureOut(many=True))
    def get_procedures(self, encounter: Encounter) -> list[dict]:
        return ProcedureOut(encounter.procedures.order_by("sequence"), many=True).data

    @extend_schema_field(DocumentSummaryOut(many=True))
    def get_documents(self, encounter: Encounter) -> list[dict]:
        return DocumentSummaryOut(encounter.documents.order_by("written_on", "pk"), many=True).data


class PatientEncounterOut(serializers.Serializer):
    id = serializers.IntegerField()
    account_number = serializers.CharField()
    type = serializers.CharField()
    status = serializers.CharField()
    admit_date = serializers.DateField()


class PatientDetailOut(PatientOut):
    encounters = serializers.SerializerMethodField()

    class Meta(PatientOut.Meta):
        fields = [*PatientOut.Meta.fields, "encounters"]

    @extend_schema_field(PatientEncounterOut(many=True))
    def get_encounters(self, patient: Patient) -> list[dict]:
        rows = self.context["encounters"]
        return [
            {
                "id": e.pk,
                "account_number": e.account_number,
                "type": e.type,
                "status": e.status,
                "admit_date": e.admit_date,
            }
            for e in rows
        ]


class QueryOut(serializers.ModelSerializer):
    encounter = serializers.PrimaryKeyRelatedField(read_only=True)
    clinical_indicators = serializers.JSONField()
    options = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = PhysicianQuery
        fields = [
            "id",
            "encounter",
            "kind",
            "status",
            "provider",
            "question",
            "clinical_indicators",
            "options",
            "sent_at",
            "answer",
            "answered_by",
            "answered_at",
            "withdrawn_reason",
        ]


class ReviewCommentOut(serializers.ModelSerializer):
    class Meta:
        model = ReviewComment
        fields = ["change", "category", "code", "corrected_code", "reason"]


class ReviewOut(serializers.ModelSerializer):
    coder = serializers.SlugRelatedField(slug_field="username", read_only=True)
    reviewer = serializers.SlugRelatedField(slug_field="username", read_only=True)
    comments = ReviewCommentOut(many=True, read_only=True)

    class Meta:
        model = Review
        fields = ["id", "encounter", "round", "outcome", "summary", "coder", "reviewer", "at"]
        fields = [*fields, "comments"]


class ListOut(serializers.Serializer):
    count = serializers.IntegerField()


# --- input ------------------------------------------------------------------------------------


class PageIn(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=200, default=50)
    offset = serializers.IntegerField(min_value=0, max_value=10_000_000, default=0)


class PatientListIn(PageIn):
    q = serializers.CharField(
        max_length=80, required=False, help_text="MRN, or the start of a last name."
    )


class EncounterListIn(PageIn):
    scope = serializers.ChoiceField(choices=["all", "mine", "pool"], default="all")
    type = serializers.ChoiceField(choices=Encounter.Type.choices, required=False)
    status = serializers.ChoiceField(choices=Encounter.Status.choices, required=False)
    payer = serializers.CharField(max_length=120, required=False)
    due_before = serializers.DateField(required=False)


class EncounterCreateIn(serializers.Serializer):
    """Intake: an existing MRN must match the patient's last name and birth date."""

    mrn = serializers.CharField(max_length=64)
    last_name = serializers.CharField(max_length=80)
    first_name = serializers.CharField(max_length=80)
    birth_date = serializers.DateField()
    sex = serializers.ChoiceField(choices=Patient.Sex.choices)
    coverage = serializers.CharField(max_length=120, required=False, default="", allow_blank=True)
    type = serializers.ChoiceField(choices=Encounter.Type.choices)
    admit_date = serializers.DateField()
    discharge_date = serializers.DateField(required=False, allow_null=True, default=None)
    account_number = serializers.CharField(
        max_length=64, required=False, default="", allow_blank=True
    )
    provider = serializers.CharField(max_length=120, required=False, default="", allow_blank=True)
    payer = serializers.CharField(max_length=120, required=False, default="", allow_blank=True)
    due_date = serializers.DateField(required=False, allow_null=True, default=None)


class DocumentCreateIn(serializers.Serializer):
    note_type = serializers.ChoiceField(choices=Document.NoteType.choices)
    title = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    written_on = serializers.DateField()
    author = serializers.CharField(max_length=120, required=False, default="", allow_blank=True)
    text = serializers.CharField(max_length=MAX_TEXT, trim_whitespace=False)


class DocumentUploadIn(serializers.Serializer):
    note_type = serializers.ChoiceField(choices=Document.NoteType.choices)
    title = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    written_on = serializers.DateField()
    author = serializers.CharField(max_length=120, required=False, default="", allow_blank=True)
    file = serializers.FileField(help_text="Plain text or PDF; the original is kept.")


class VersionIn(serializers.Serializer):
    version = VersionField()


class BreakGlassIn(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text="Logged and reviewed by seniors.")


class BreakGlassOut(serializers.Serializer):
    encounter = serializers.IntegerField(source="encounter_id")
    reason = serializers.CharField()
    expires_at = serializers.DateTimeField()


class EvidenceIn(VersionIn):
    kind = serializers.ChoiceField(choices=["diagnosis", "procedure"])
    assignment_id = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    document_id = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    start = serializers.IntegerField(min_value=0, max_value=2**31 - 1)
    end = serializers.IntegerField(min_value=1, max_value=2**31 - 1)


class DiagnosisAddIn(VersionIn):
    code = serializers.CharField(max_length=20)
    poa = serializers.ChoiceField(choices=POA_CHOICES, required=False, default="", allow_blank=True)
    position = serializers.IntegerField(min_value=1, max_value=999, required=False)


class DiagnosisUpdateIn(VersionIn):
    poa = serializers.ChoiceField(choices=POA_CHOICES, allow_blank=True)


class MoveIn(VersionIn):
    position = serializers.IntegerField(
        min_value=1, max_value=999, help_text="1 = principal / first-listed."
    )


class ProcedureLineIn(VersionIn):
    modifiers = serializers.ListField(
        child=serializers.CharField(max_length=2, min_length=2),
        max_length=4,
        required=False,
        default=list,
    )
    units = serializers.IntegerField(min_value=1, max_value=99_999, required=False, default=1)
    performed_on = serializers.DateField(required=False, allow_null=True, default=None)
    diagnosis_pointers = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=999),
        max_length=4,
        required=False,
        default=list,
    )


class ProcedureAddIn(ProcedureLineIn):
    code = serializers.CharField(max_length=20)
    system = serializers.ChoiceField(
        choices=ProcedureAssignment.System.choices,
        required=False,
        help_text="Default: ICD-10-PCS for inpatient stays, HCPCS otherwise.",
    )


class SubmitIn(VersionIn):
    override_reason = serializers.CharField(
        max_length=2000,
        required=False,
        default="",
        allow_blank=True,
        help_text="Why error edits stand; without it, error edits block the submission (422).",
    )


class EscalateIn(VersionIn):
    reason = serializers.CharField(max_length=2000)


class IndicatorIn(serializers.Serializer):
    document_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    start = serializers.IntegerField(min_value=0, max_value=MAX_TEXT)
    end = serializers.IntegerField(min_value=1, max_value=MAX_TEXT)


class QueryCreateIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=PhysicianQuery.Kind.choices)
    provider = serializers.CharField(max_length=120)
    question = serializers.CharField(max_length=5000)
    clinical_indicators = IndicatorIn(many=True)
    options = serializers.ListField(
        child=serializers.CharField(max_length=300), max_length=12, required=False, default=list
    )


class QueryListIn(PageIn):
    tab = serializers.ChoiceField(choices=["open", "closed"], default="open")
    provider = serializers.CharField(max_length=120, required=False)


class QueryAnswerIn(serializers.Serializer):
    answer = serializers.CharField(max_length=5000, required=False, default="", allow_blank=True)
    option = serializers.CharField(max_length=300, required=False, default="", allow_blank=True)
    answered_by = serializers.CharField(
        max_length=120, required=False, default="", allow_blank=True
    )
    answered_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class ReasonIn(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class CommentIn(serializers.Serializer):
    change = serializers.ChoiceField(choices=ReviewComment.Change.choices)
    category = serializers.ChoiceField(choices=ReviewComment.Category.choices)
    reason = serializers.CharField(max_length=2000)
    code = serializers.CharField(max_length=10, required=False, default="", allow_blank=True)
    corrected_code = serializers.CharField(
        max_length=10, required=False, default="", allow_blank=True
    )


class ReviewDecisionIn(VersionIn):
    summary = serializers.CharField(max_length=5000, required=False, default="", allow_blank=True)
    comments = CommentIn(many=True, required=False, default=list)
