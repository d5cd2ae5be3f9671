from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.models import PhiAccess, User


@admin.register(User)
class CodingBenchUserAdmin(UserAdmin):
    list_display = ("username", "first_name", "last_name", "role", "also_coder_role", "is_active")
    list_filter = ("role", "is_active")
    fieldsets = (*UserAdmin.fieldsets, ("Role", {"fields": ("role", "also_coder_role")}))


@admin.register(PhiAccess)
class PhiAccessAdmin(admin.ModelAdmin):
    list_display = (
        "at",
        "user",
        "action",
        "patient_id",
        "encounter_id",
        "document_id",
        "ip_address",
    )
    list_filter = ("action",)

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
