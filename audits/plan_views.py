"""Audit plans and their samples: list, new plan (selection and targets), detail with the
sampled encounters and why each was chosen, sample, close."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.models import User
from accounts.permissions import Capability, capability_required
from audits import selectors, services
from audits.models import AuditItem, AuditPlan
from encounters.models import Encounter
from encounters.views.common import _add_service_errors
from encounters.views.common import _error_text as error_text


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]


class DateInput(forms.DateInput):
    input_type = "date"


class PlanForm(forms.Form):
    name = forms.CharField(max_length=200)
    kind = forms.ChoiceField(
        label="Kind",
        choices=AuditPlan.Kind.choices,
        widget=forms.RadioSelect,
        help_text="Pre-bill holds each sampled chart until its audit item is closed.",
    )
    party = forms.ChoiceField(label="Audit by", choices=AuditPlan.Party.choices, initial="internal")
    auditors = forms.ModelMultipleChoiceField(queryset=User.objects.none())
    method = forms.ChoiceField(
        label="Selection", choices=AuditPlan.Method.choices, widget=forms.RadioSelect
    )
    percent = forms.DecimalField(
        label="Percent",
        required=False,
        min_value=0,
        max_value=100,
        decimal_places=2,
        help_text="For a random percentage, e.g. 10.",
    )
    per_coder = forms.IntegerField(
        label="Encounters per coder",
        required=False,
        min_value=1,
        max_value=500,
        help_text="For N per coder, e.g. 5.",
    )
    date_from = forms.DateField(label="Discharge / service from", widget=DateInput)
    date_to = forms.DateField(label="Discharge / service to", widget=DateInput)
    coders = forms.ModelMultipleChoiceField(
        label="Only these coders",
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    encounter_types = forms.MultipleChoiceField(
        label="Only these encounter types",
        choices=Encounter.Type.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    payers = forms.CharField(
        label="Payers", required=False, help_text="Comma-separated, e.g. Medicare, Aetna."
    )
    drgs = forms.CharField(label="MS-DRGs", required=False, help_text="e.g. 291, 470")
    drg_families = forms.CharField(
        label="DRG families", required=False, help_text="Ranges, e.g. 291-293 (heart failure)."
    )
    codes = forms.CharField(
        label="Codes", required=False, help_text="Exact codes or prefixes with *, e.g. I50.*, N17.9"
    )
    min_weight = forms.CharField(
        label="Relative weight at least", required=False, help_text="e.g. 2.5"
    )
    new_coders_days = forms.CharField(
        label="New coders (days)",
        required=False,
        help_text="Coders whose first coded encounter is at most this many days before the end "
        "of the period.",
    )
    seed = forms.IntegerField(
        label="Seed",
        required=False,
        min_value=1,
        help_text="Leave empty for a fresh random seed; give a seed to draw a known sample again.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["auditors"].queryset = selectors.auditors_available()
        self.fields["coders"].queryset = selectors.coders_for_targets()
        for name in ("auditors",):
            self.fields[name].label_from_instance = _person
        self.fields["coders"].label_from_instance = _person

    def clean(self):
        data = super().clean()
        if data.get("method") == AuditPlan.Method.RANDOM_PERCENT and data.get("percent") is None:
            self.add_error("percent", "Give the percentage to draw.")
        if data.get("method") == AuditPlan.Method.PER_CODER and not data.get("per_coder"):
            self.add_error("per_coder", "Give the number of encounters per coder.")
        return data

    def targets(self) -> dict:
        data = self.cleaned_data
        return {
            "coders": [u.pk for u in data.get("coders") or []],
            "encounter_types": data.get("encounter_types") or [],
            "payers": _split(data.get("payers") or ""),
            "drgs": _split(data.get("drgs") or ""),
            "drg_families": _split(data.get("drg_families") or ""),
            "codes": _split(data.get("codes") or ""),
            "min_weight": data.get("min_weight") or "",
            "new_coders_days": data.get("new_coders_days") or "",
        }


def _person(user: User) -> str:
    full = user.get_full_name()
    return f"{full} ({user.username})" if full else user.username


@capability_required(Capability.RUN_AUDITS)
def plan_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "audits/plan_list.html", {"plans": list(selectors.plans_for(user=request.user))}
    )


@capability_required(Capability.RUN_AUDITS)
def plan_new(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = PlanForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                plan = services.plan_create(
                    by=request.user,
                    name=data["name"],
                    kind=data["kind"],
                    party=data["party"],
                    method=data["method"],
                    percent=data.get("percent"),
                    per_coder=data.get("per_coder"),
                    date_from=data["date_from"],
                    date_to=data["date_to"],
                    auditors=list(data["auditors"]),
                    targets=form.targets(),
                    seed=data.get("seed"),
                )
            except ValidationError as exc:
                _add_service_errors(form, exc)
            else:
                messages.success(
                    request, f"Plan “{plan.name}” created. Draw its sample when ready."
                )
                return redirect("audits:plan_detail", pk=plan.pk)
    else:
        form = PlanForm(
            initial={
                "auditors": [request.user.pk],
                "kind": AuditPlan.Kind.POST_BILL,
                "method": AuditPlan.Method.RANDOM_PERCENT,
            }
        )
    return render(request, "audits/plan_new.html", {"form": form})


def _target_words(plan: AuditPlan) -> list[tuple[str, str]]:
    targets = plan.targets or {}
    words = []
    if targets.get("coders"):
        names = User.objects.filter(pk__in=targets["coders"]).order_by("username")
        words.append(("Coders", ", ".join(_person(u) for u in names)))
    if targets.get("encounter_types"):
        words.append(
            (
                "Encounter types",
                ", ".join(Encounter.Type(t).label for t in targets["encounter_types"]),
            )
        )
    for key, label in (
        ("payers", "Payers"),
        ("drgs", "MS-DRGs"),
        ("drg_families", "DRG families"),
        ("codes", "Codes"),
    ):
        if targets.get(key):
            words.append((label, ", ".join(targets[key])))
    if targets.get("min_weight"):
        words.append(("Relative weight", f"≥ {targets['min_weight']}"))
    if targets.get("new_coders_days"):
        words.append(("New coders", f"first coded within {targets['new_coders_days']} days"))
    return words


def _reason_shown(item: AuditItem) -> str:
    """The targeted part of a reason names codes and DRGs the coder assigned: hidden until
    the blind re-code is done."""
    if item.status in (AuditItem.Status.PENDING, AuditItem.Status.RECODING):
        head, sep, _ = item.selection_reason.partition("; targeted:")
        return head + ("; targeted (details after the re-code)" if sep else "")
    return item.selection_reason


@capability_required(Capability.RUN_AUDITS)
def plan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    plan = selectors.plan_get_for(user=request.user, pk=pk, missing_ok=True)
    if plan is None:
        messages.error(request, "That audit plan does not exist (any more).")
        return redirect("audits:plan_list")
    items = list(selectors.plan_items(plan=plan))
    for item in items:
        item.reason_shown = _reason_shown(item)
    compared = [
        i for i in items if i.status in (AuditItem.Status.COMPARED, AuditItem.Status.CLOSED)
    ]
    agreed = sum(i.codes_agreed for i in compared)
    total = sum(i.codes_total for i in compared)
    return render(
        request,
        "audits/plan_detail.html",
        {
            "plan": plan,
            "items": items,
            "auditors": list(plan.auditors.order_by("username")),
            "targets": _target_words(plan),
            "compared": len(compared),
            "accuracy": round(100 * agreed / total, 1) if total else None,
            "clean_items": sum(1 for i in compared if i.finding_count == 0),
            "upcoding": sum(
                1 for i in compared if i.payment_effect == AuditItem.PaymentEffect.UPCODING
            ),
            "downcoding": sum(
                1 for i in compared if i.payment_effect == AuditItem.PaymentEffect.DOWNCODING
            ),
            "open_items": sum(1 for i in items if i.status != AuditItem.Status.CLOSED),
        },
    )


@capability_required(Capability.RUN_AUDITS)
@require_POST
def plan_sample(request: HttpRequest, pk: int) -> HttpResponse:
    plan = selectors.plan_get_for(user=request.user, pk=pk)
    try:
        items = services.plan_sample(plan=plan, by=request.user)
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, f"Drew {len(items)} encounter{'s' if len(items) != 1 else ''}.")
    return redirect("audits:plan_detail", pk=plan.pk)


@capability_required(Capability.RUN_AUDITS)
@require_POST
def plan_close(request: HttpRequest, pk: int) -> HttpResponse:
    plan = selectors.plan_get_for(user=request.user, pk=pk)
    try:
        services.plan_close(plan=plan, by=request.user)
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, "Plan closed.")
    return redirect("audits:plan_detail", pk=plan.pk)
