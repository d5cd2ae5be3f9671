"""Admin pages for payer coverage rules: list with filters, new/edit form, deactivate."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.permissions import Capability, capability_required
from codesets import coverage
from codesets.models import CoverageRule

PAGE_SIZE = 50
STATUS_CHOICES = [("", "Active and inactive"), ("active", "Active"), ("inactive", "Inactive")]


class CoverageRuleForm(forms.Form):
    payer = forms.CharField(
        max_length=120,
        help_text="As it appears on encounters, e.g. Medicare.",
        widget=forms.TextInput(attrs={"list": "payer-list", "autocomplete": "off"}),
    )
    procedure_system = forms.ChoiceField(
        label="Code system", choices=list(coverage.SYSTEM_LABELS.items())
    )
    procedure_code = forms.CharField(
        max_length=10, help_text="A HCPCS or ICD-10-PCS code in force, or a five-character CPT."
    )
    supporting_diagnoses = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="ICD-10-CM codes or prefixes ending in * (E11*), separated by commas or "
        "new lines. Leave empty for a frequency-only rule.",
    )
    frequency_limit = forms.IntegerField(
        required=False, min_value=1, max_value=999, label="At most (services)"
    )
    frequency_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=coverage.MAX_FREQUENCY_DAYS,
        label="In (days)",
        help_text="Give both or neither.",
    )
    policy = forms.CharField(
        max_length=200, required=False, help_text="The payer's policy, LCD or NCD id."
    )
    effective_from = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="In force from"
    )
    effective_to = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="In force until"
    )
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if field.help_text:
                field.widget.attrs.setdefault("aria-describedby", f"id_{name}-hint")


def _initial(rule: CoverageRule) -> dict:
    return {
        "payer": rule.payer,
        "procedure_system": rule.procedure_system,
        "procedure_code": rule.procedure_code,
        "supporting_diagnoses": ", ".join(rule.supporting_diagnoses),
        "frequency_limit": rule.frequency_limit,
        "frequency_days": rule.frequency_days,
        "policy": rule.policy,
        "effective_from": rule.effective_from,
        "effective_to": rule.effective_to,
        "note": rule.note,
    }


def _save(request: HttpRequest, form: CoverageRuleForm, rule: CoverageRule | None):
    """Call the service; on a validation error put each message on its field (nothing lost)."""
    try:
        if rule is None:
            return coverage.coverage_rule_create(by=request.user, **form.cleaned_data)
        return coverage.coverage_rule_update(rule=rule, by=request.user, **form.cleaned_data)
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            for error in errors:
                form.add_error(field if field in form.fields else None, error)
        return None


@capability_required(Capability.MAINTAIN_COVERAGE_RULES)
def coverage_list(request: HttpRequest) -> HttpResponse:
    payer = request.GET.get("payer", "").strip()
    code = request.GET.get("code", "").strip()
    status = request.GET.get("status", "")
    rules = coverage.coverage_rule_list(payer=payer, code=code, status=status)
    page = Paginator(rules, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "rules": page.object_list,
        "payer": payer,
        "code": code,
        "status": status,
        "status_choices": STATUS_CHOICES,
        "payers": coverage.coverage_payers(),
        "filtered": bool(payer or code or status),
    }
    return render(request, "codesets/coverage/list.html", context)


@capability_required(Capability.MAINTAIN_COVERAGE_RULES)
def coverage_new(request: HttpRequest) -> HttpResponse:
    form = CoverageRuleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        rule = _save(request, form, None)
        if rule is not None:
            messages.success(
                request, f"Coverage rule for {rule.payer} {rule.procedure_code} saved."
            )
            return redirect("codesets:coverage_list")
    return render(
        request,
        "codesets/coverage/form.html",
        {"form": form, "rule": None, "payers": coverage.coverage_payers()},
    )


@capability_required(Capability.MAINTAIN_COVERAGE_RULES)
def coverage_edit(request: HttpRequest, pk: int) -> HttpResponse:
    rule = CoverageRule.objects.select_related("updated_by").filter(pk=pk).first()
    if rule is None:
        messages.error(request, "That coverage rule does not exist (any more).")
        return redirect("codesets:coverage_list")
    form = CoverageRuleForm(request.POST or None, initial=_initial(rule))
    if request.method == "POST" and form.is_valid():
        saved = _save(request, form, rule)
        if saved is not None:
            messages.success(
                request, f"Coverage rule for {saved.payer} {saved.procedure_code} updated."
            )
            return redirect("codesets:coverage_list")
    return render(
        request,
        "codesets/coverage/form.html",
        {"form": form, "rule": rule, "payers": coverage.coverage_payers()},
    )


@capability_required(Capability.MAINTAIN_COVERAGE_RULES)
@require_POST
def coverage_set_active(request: HttpRequest, pk: int) -> HttpResponse:
    rule = CoverageRule.objects.filter(pk=pk).first()
    if rule is None:
        messages.error(request, "That coverage rule does not exist (any more).")
        return redirect("codesets:coverage_list")
    active = request.POST.get("active") == "1"
    coverage.coverage_rule_set_active(rule=rule, by=request.user, active=active)
    messages.success(
        request,
        f"Coverage rule for {rule.payer} {rule.procedure_code} "
        + (
            "reactivated: the edits engine checks it again."
            if active
            else "deactivated: the edits engine no longer checks it."
        ),
    )
    back = reverse("codesets:coverage_list")
    wanted = request.POST.get("next", "")
    # Back to the filtered list the admin came from; never anywhere else.
    return redirect(wanted if wanted.startswith(back + "?") else back)
