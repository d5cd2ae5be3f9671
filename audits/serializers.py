"""API shapes for audit plans, items and findings. Rules stay in audits/services.py."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from audits.models import AuditItem, AuditPlan, Finding
from encounters.serializers import MAX_ID, POA_CHOICES

RECODE_KINDS = ["diagnoses", "procedures"]
BLIND = (AuditItem.Status.PENDING, AuditItem.Status.RECODING)


class PlanOut(serializers.ModelSerializer):
    auditors = serializers.SlugRelatedField(slug_field="username", many=True, read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    targets = serializers.JSONField()

    class Meta:
        model = AuditPlan
        fields = [
            "id",
            "name",
            "kind",
            "party",
            "method",
            "percent",
            "per_coder",
            "date_from",
            "date_to",
            "targets",
            "seed",
            "status",
            "auditors",
            "created_by",
            "created_at",
            "sampled_at",
            "closed_at",
        ]


class FindingOut(serializers.ModelSerializer):
    item = serializers.PrimaryKeyRelatedField(read_only=True)
    detail = serializers.JSONField()
    resolved_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Finding
        fields = [
            "id",
            "item",
            "kind",
            "category",
            "severity",
            "code_kind",
            "original_code",
            "audited_code",
            "detail",
            "note",
            "response",
            "dispute_reason",
            "responded_at",
            "resolution",
            "resolution_note",
            "resolved_by",
            "resolved_at",
        ]


class ItemOut(serializers.ModelSerializer):
    """While the re-code is blind (not started / re-coding) the coder's codes are withheld."""

    encounter = serializers.PrimaryKeyRelatedField(read_only=True)
    account_number = serializers.CharField(source="encounter.account_number", read_only=True)
    coder = serializers.SlugRelatedField(slug_field="username", read_only=True)
    auditor = serializers.SlugRelatedField(slug_field="username", read_only=True)
    audited_coding = serializers.JSONField()
    original_coding = serializers.SerializerMethodField()
    findings = serializers.SerializerMethodField()

    class Meta:
        model = AuditItem
        fields = [
            "id",
            "plan",
            "encounter",
            "account_number",
            "coder",
            "auditor",
            "status",
            "selection_reason",
            "audited_coding",
            "original_coding",
            "payment_effect",
            "weight_difference",
            "codes_agreed",
            "codes_total",
            "started_at",
            "compared_at",
            "closed_at",
            "findings",
        ]

    def get_original_coding(self, item: AuditItem) -> dict | None:
        return None if item.status in BLIND else item.original_coding

    @extend_schema_field(FindingOut(many=True))
    def get_findings(self, item: AuditItem) -> list[dict]:
        if item.status in BLIND:
            return []
        return FindingOut(item.findings.order_by("pk"), many=True).data


class PlanItemOut(serializers.Serializer):
    id = serializers.IntegerField()
    encounter = serializers.IntegerField()
    status = serializers.CharField()
    coder = serializers.IntegerField(allow_null=True)


class PlanDetailOut(PlanOut):
    items = serializers.SerializerMethodField()

    class Meta(PlanOut.Meta):
        fields = [*PlanOut.Meta.fields, "items"]

    @extend_schema_field(PlanItemOut(many=True))
    def get_items(self, plan: AuditPlan) -> list[dict]:
        return [
            {"id": i.pk, "encounter": i.encounter_id, "status": i.status, "coder": i.coder_id}
            for i in plan.items.order_by("pk")
        ]


class TargetsIn(serializers.Serializer):
    coders = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID), required=False
    )
    encounter_types = serializers.ListField(
        child=serializers.CharField(max_length=20), required=False
    )
    payers = serializers.ListField(child=serializers.CharField(max_length=120), required=False)
    drgs = serializers.ListField(child=serializers.CharField(max_length=10), required=False)
    drg_families = serializers.ListField(child=serializers.CharField(max_length=20), required=False)
    codes = serializers.ListField(child=serializers.CharField(max_length=20), required=False)
    min_weight = serializers.DecimalField(
        max_digits=6, decimal_places=4, required=False, allow_null=True
    )
    new_coders_days = serializers.IntegerField(
        min_value=1, max_value=3650, required=False, allow_null=True
    )


class PlanCreateIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=AuditPlan.Kind.choices)
    party = serializers.ChoiceField(
        choices=AuditPlan.Party.choices, required=False, default=AuditPlan.Party.INTERNAL
    )
    method = serializers.ChoiceField(choices=AuditPlan.Method.choices)
    percent = serializers.DecimalField(
        max_digits=5, decimal_places=2, required=False, allow_null=True, default=None
    )
    per_coder = serializers.IntegerField(
        min_value=1, max_value=1000, required=False, allow_null=True, default=None
    )
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    auditors = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        min_length=1,
        max_length=50,
        help_text="User ids of senior coders.",
    )
    targets = TargetsIn(required=False, default=dict)
    seed = serializers.IntegerField(
        min_value=1, max_value=2**53, required=False, allow_null=True, default=None
    )


class RecodeAddIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=RECODE_KINDS)
    code = serializers.CharField(max_length=20)
    system = serializers.ChoiceField(
        choices=["", "icd10pcs", "hcpcs", "cpt"], required=False, default=""
    )
    poa = serializers.ChoiceField(choices=POA_CHOICES, required=False, default="", allow_blank=True)


class FindingUpdateIn(serializers.Serializer):
    category = serializers.ChoiceField(choices=Finding.Category.choices)
    severity = serializers.ChoiceField(choices=Finding.Severity.choices)
    note = serializers.CharField(max_length=5000, required=False, default="", allow_blank=True)


class FindingRespondIn(serializers.Serializer):
    response = serializers.ChoiceField(choices=[Finding.Response.AGREED, Finding.Response.DISPUTED])
    reason = serializers.CharField(max_length=5000, required=False, default="", allow_blank=True)


class FindingResolveIn(serializers.Serializer):
    resolution = serializers.ChoiceField(
        choices=[Finding.Resolution.UPHELD, Finding.Resolution.OVERTURNED]
    )
    note = serializers.CharField(max_length=5000, required=False, default="", allow_blank=True)
