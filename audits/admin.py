"""Read-mostly admin views of audits: the pages in /audits/ are where audits are run."""

from django.contrib import admin

from audits.models import AuditItem, AuditPlan, AuditSettings, Finding


@admin.register(AuditSettings)
class AuditSettingsAdmin(admin.ModelAdmin):
    list_display = ("accuracy_target", "updated_by", "updated_at")


@admin.register(AuditPlan)
class AuditPlanAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "party", "method", "date_from", "date_to", "status")
    list_filter = ("kind", "party", "status")
    search_fields = ("name",)
    # The seed and dates define the sample: changing them after the draw would misstate it.
    readonly_fields = ("seed", "created_by", "created_at", "sampled_at", "closed_at")


@admin.register(AuditItem)
class AuditItemAdmin(admin.ModelAdmin):
    list_display = (
        "plan",
        "encounter",
        "coder",
        "auditor",
        "status",
        "codes_agreed",
        "codes_total",
    )
    list_filter = ("status", "payment_effect")
    raw_id_fields = ("plan", "encounter", "coder", "auditor")
    readonly_fields = ("original_coding", "original_drg", "selection_reason")


@admin.register(Finding)
class FindingAdmin(admin.ModelAdmin):
    list_display = ("item", "kind", "category", "severity", "response", "resolution")
    list_filter = ("kind", "category", "severity", "response", "resolution")
    raw_id_fields = ("item", "resolved_by")
