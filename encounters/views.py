"""Pages of the encounters app: chart intake, the work queue and the coding workspace.

Function views: parse the input, call one service, render. A full page for a normal request;
for htmx requests the coding workspace answers with out-of-band fragments (code lists, edits,
version, messages) so the page stays in step with the server without a reload.
"""

import logging
from collections.abc import Callable
from datetime import date

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from accounts.permissions import Capability, capability_required, has_capability
from encounters import selectors, services
from encounters.fhir import FhirImportError, fhir_bundle_import
from encounters.models import DiagnosisAssignment, Document, Encounter, Patient
from encounters.selectors import QUEUE_SORTS, QueueFilters
from encounters.services import StaleEdit, SubmitBlocked
from encounters.workflow import EDITABLE, FINISHED

logger = logging.getLogger(__name__)

QUEUE_PAGE_SIZE = 25
SCOPES = [("all", "All"), ("mine", "Assigned to me"), ("pool", "Pool")]
SORT_LABELS = {
    "due": "Due date, soonest first",
    "-due": "Due date, latest first",
    "admit": "Admit date, oldest first",
    "-admit": "Admit date, newest first",
    "priority": "Priority",
    "account": "Account number",
}
SEVERITIES = [("error", "Errors"), ("warning", "Warnings"), ("info", "Information")]
SYSTEM_LABELS = {"icd10cm": "ICD-10-CM", "icd10pcs": "ICD-10-PCS", "hcpcs": "HCPCS", "cpt": "CPT"}


def _is_htmx(request: HttpRequest) -> bool:
    return bool(request.headers.get("HX-Request")) and not request.headers.get(
        "HX-History-Restore-Request"
    )


def _error_text(exc: ValidationError) -> str:
    return " ".join(str(m) for m in exc.messages)


def _add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Put a service's ValidationError next to the fields it names (the rest on top)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            target = field if field in form.fields else None
            for error in errors:
                form.add_error(target, error.messages)
    else:
        form.add_error(None, exc.messages)


class DateInput(forms.DateInput):
    input_type = "date"

    def format_value(self, value):
        return value.isoformat() if isinstance(value, date) else value


# --- work queue -----------------------------------------------------------------------------


class QueueFilterForm(forms.Form):
    scope = forms.ChoiceField(choices=SCOPES, required=False)
    type = forms.ChoiceField(
        choices=[("", "Any type"), *Encounter.Type.choices], required=False, label="Type"
    )
    payer = forms.CharField(required=False, max_length=120, label="Payer")
    status = forms.ChoiceField(
        choices=[("", "Any status")]
        + [(v, label) for v, label in Encounter.Status.choices if v not in FINISHED],
        required=False,
        label="Status",
    )
    due_before = forms.DateField(required=False, label="Due on or before", widget=DateInput)
    sort = forms.ChoiceField(choices=list(SORT_LABELS.items()), required=False, label="Sort")

    def filters(self, **override) -> QueueFilters:
        data = self.cleaned_data if self.is_bound else {}
        values = {
            "scope": data.get("scope") or "all",
            "type": data.get("type") or "",
            "payer": (data.get("payer") or "").strip(),
            "status": data.get("status") or "",
            "due_before": data.get("due_before"),
            "sort": data.get("sort") if data.get("sort") in QUEUE_SORTS else "due",
        }
        values.update(override)
        return QueueFilters(**values)


@capability_required(Capability.CODE_ENCOUNTERS)
def queue(request: HttpRequest) -> HttpResponse:
    form = QueueFilterForm(request.GET)
    form.is_valid()
    filters = form.filters()
    encounters = selectors.encounter_queue_for(user=request.user, filters=filters)
    page = Paginator(encounters, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    scope_query = query.copy()
    scope_query.pop("scope", None)
    context = {
        "form": form,
        "filters": filters,
        "page": page,
        "encounters": page.object_list,
        "scopes": SCOPES,
        "query": query.urlencode(),
        "scope_query": scope_query.urlencode(),
        "filtered": any([filters.type, filters.payer, filters.status, filters.due_before]),
        "today": timezone.localdate(),
        "can_intake": has_capability(request.user, Capability.INTAKE_CHARTS),
    }
    template = "encounters/queue.html"
    if _is_htmx(request):
        template += "#queue-list"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@capability_required(Capability.CODE_ENCOUNTERS)
@require_POST
def queue_next(request: HttpRequest) -> HttpResponse:
    encounter = services.encounter_claim_next(by=request.user)
    if encounter is None:
        messages.info(request, "The pool is empty: no unassigned chart is ready for coding.")
        return redirect("encounters:queue")
    messages.success(request, f"You claimed {encounter.account_number}.")
    return redirect("encounters:workspace", pk=encounter.pk)


@capability_required(Capability.CODE_ENCOUNTERS)
@require_POST
def encounter_claim(request: HttpRequest, pk: int) -> HttpResponse:
    encounter = selectors.encounter_get_for(user=request.user, pk=pk)
    try:
        services.encounter_claim(encounter=encounter, by=request.user)
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
        return redirect("encounters:queue")
    messages.success(request, f"You claimed {encounter.account_number}.")
    return redirect("encounters:workspace", pk=encounter.pk)


@capability_required(Capability.CODE_ENCOUNTERS)
@require_POST
def encounter_unclaim(request: HttpRequest, pk: int) -> HttpResponse:
    encounter = selectors.encounter_get_for(user=request.user, pk=pk)
    try:
        services.encounter_unclaim(encounter=encounter, by=request.user, version=_version(request))
    except (StaleEdit, ValidationError, PermissionDenied) as exc:
        messages.error(request, _message_of(exc))
        return redirect("encounters:workspace", pk=pk)
    messages.success(request, f"{encounter.account_number} is back in the pool.")
    return redirect("encounters:queue")


@capability_required(Capability.WORK_COMPLEX_CASES)
def complex_cases(request: HttpRequest) -> HttpResponse:
    return render(request, "encounters/complex.html")


# --- intake ---------------------------------------------------------------------------------


class ChartForm(forms.Form):
    mrn = forms.CharField(label="MRN", max_length=64)
    last_name = forms.CharField(label="Last name", max_length=80)
    first_name = forms.CharField(label="First name", max_length=80)
    birth_date = forms.DateField(label="Birth date", widget=DateInput)
    sex = forms.ChoiceField(label="Sex", choices=Patient.Sex.choices)
    coverage = forms.CharField(label="Coverage", max_length=120, required=False)
    type = forms.ChoiceField(label="Encounter type", choices=Encounter.Type.choices)
    admit_date = forms.DateField(label="Admit or service date", widget=DateInput)
    discharge_date = forms.DateField(
        label="Discharge date", required=False, widget=DateInput, help_text="Inpatient stays."
    )
    account_number = forms.CharField(
        label="Account number", max_length=64, required=False, help_text="Blank: assigned."
    )
    provider = forms.CharField(label="Provider", max_length=120, required=False)
    payer = forms.CharField(label="Payer", max_length=120, required=False)
    due_date = forms.DateField(label="Due date", required=False, widget=DateInput)


class DocumentForm(forms.Form):
    note_type = forms.ChoiceField(label="Note type", choices=Document.NoteType.choices)
    title = forms.CharField(label="Title", max_length=200, required=False)
    written_on = forms.DateField(label="Date", widget=DateInput)
    author = forms.CharField(label="Author", max_length=120, required=False)
    text = forms.CharField(
        label="Text", widget=forms.Textarea(attrs={"rows": 18, "class": "doc-input"}), strip=False
    )


class UploadForm(forms.Form):
    note_type = forms.ChoiceField(label="Note type", choices=Document.NoteType.choices)
    title = forms.CharField(
        label="Title", max_length=200, required=False, help_text="Blank: the file name."
    )
    written_on = forms.DateField(label="Date", widget=DateInput)
    author = forms.CharField(label="Author", max_length=120, required=False)
    file = forms.FileField(
        label="File",
        help_text="Plain text (.txt) or PDF with a text layer.",
        widget=forms.ClearableFileInput(
            attrs={"accept": ".txt,.text,.pdf,text/plain,application/pdf"}
        ),
    )


class FhirForm(forms.Form):
    bundle = forms.FileField(
        label="FHIR R4 Bundle (JSON)",
        widget=forms.ClearableFileInput(
            attrs={"accept": ".json,application/json,application/fhir+json"}
        ),
    )


@capability_required(Capability.INTAKE_CHARTS)
def intake(request: HttpRequest) -> HttpResponse:
    waiting = selectors.encounters_visible_to(user=request.user).filter(
        status=Encounter.Status.INTAKE
    )
    page = Paginator(waiting.order_by("-created_at", "-pk"), QUEUE_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "encounters/intake.html", {"page": page, "encounters": page.object_list})


@capability_required(Capability.INTAKE_CHARTS)
def intake_new(request: HttpRequest) -> HttpResponse:
    form = ChartForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                patient = _patient_for_intake(request, data)
                encounter = services.encounter_create(
                    by=request.user,
                    patient=patient,
                    type=data["type"],
                    admit_date=data["admit_date"],
                    discharge_date=data["discharge_date"],
                    account_number=data["account_number"],
                    provider=data["provider"],
                    payer=data["payer"],
                    due_date=data["due_date"],
                )
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(
                request,
                f"Encounter {encounter.account_number} created. Add its documents, then release "
                "it to the queue.",
            )
            return redirect("encounters:document_new", pk=encounter.pk)
    return render(request, "encounters/intake_new.html", {"form": form})


def _patient_for_intake(request: HttpRequest, data: dict) -> Patient:
    """The patient with this MRN if the name and birth date agree; a new patient otherwise."""
    existing = Patient.objects.filter(mrn=data["mrn"].strip()).first()
    if existing is None:
        return services.patient_create(
            by=request.user,
            mrn=data["mrn"],
            first_name=data["first_name"],
            last_name=data["last_name"],
            birth_date=data["birth_date"],
            sex=data["sex"],
            coverage=data["coverage"],
        )
    same = (
        existing.last_name.lower() == data["last_name"].strip().lower()
        and existing.birth_date == data["birth_date"]
    )
    if not same:
        raise ValidationError(
            {
                "mrn": "This MRN belongs to another patient (the last name or birth date "
                "differ). Check the MRN."
            }
        )
    return existing


def _intake_encounter(request: HttpRequest, pk: int) -> Encounter:
    encounter = selectors.encounter_get_for(user=request.user, pk=pk)
    selectors.chart_open(user=request.user, encounter=encounter, documents=[], request=request)
    return encounter


@capability_required(Capability.INTAKE_CHARTS)
def document_new(request: HttpRequest, pk: int) -> HttpResponse:
    encounter = _intake_encounter(request, pk)
    initial = {"written_on": encounter.date_of_service}
    form = DocumentForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            document = services.document_create(
                by=request.user, encounter=encounter, **form.cleaned_data
            )
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(request, f"Document “{document.title}” added.")
            return redirect(_after_document(request, encounter))
    return render(
        request,
        "encounters/document_form.html",
        {"form": form, "encounter": encounter, "mode": "type", **_documents_of(encounter)},
    )


@capability_required(Capability.INTAKE_CHARTS)
def document_upload(request: HttpRequest, pk: int) -> HttpResponse:
    encounter = _intake_encounter(request, pk)
    initial = {"written_on": encounter.date_of_service}
    form = UploadForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            document = services.document_upload(
                by=request.user,
                encounter=encounter,
                note_type=data["note_type"],
                title=data["title"],
                written_on=data["written_on"],
                author=data["author"],
                uploaded=data["file"],
            )
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(request, f"Document “{document.title}” uploaded.")
            return redirect(_after_document(request, encounter))
    return render(
        request,
        "encounters/document_form.html",
        {"form": form, "encounter": encounter, "mode": "upload", **_documents_of(encounter)},
    )


def _documents_of(encounter: Encounter) -> dict:
    return {"documents": list(encounter.documents.only("pk", "title", "note_type", "written_on"))}


def _after_document(request: HttpRequest, encounter: Encounter) -> str:
    if request.POST.get("then") == "another":
        return request.path
    return reverse("encounters:workspace", args=[encounter.pk])


@capability_required(Capability.INTAKE_CHARTS)
@require_POST
def encounter_release(request: HttpRequest, pk: int) -> HttpResponse:
    encounter = selectors.encounter_get_for(user=request.user, pk=pk)
    try:
        services.encounter_release_to_queue(encounter=encounter, by=request.user)
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, f"{encounter.account_number} is in the work queue.")
    if request.POST.get("from") == "workspace":
        return redirect("encounters:workspace", pk=pk)
    return redirect("encounters:intake")


@capability_required(Capability.INTAKE_CHARTS)
def fhir_import(request: HttpRequest) -> HttpResponse:
    form = FhirForm(request.POST or None, request.FILES or None)
    result = None
    error = ""
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["bundle"]
        try:
            result = fhir_bundle_import(by=request.user, raw=upload.read())
        except FhirImportError as exc:
            error = str(exc)
        except ValidationError as exc:
            error = f"The bundle could not be imported: {_error_text(exc)}"
        else:
            form = FhirForm()
    return render(
        request, "encounters/fhir_import.html", {"form": form, "result": result, "error": error}
    )


# --- original files -------------------------------------------------------------------------


@capability_required(Capability.VIEW_CHARTS)
def document_original(request: HttpRequest, pk: int, document_pk: int) -> HttpResponse:
    """The uploaded original, only to those who may open the chart, and logged."""
    encounter = selectors.encounter_get_for(user=request.user, pk=pk)
    document = selectors.document_get_for(user=request.user, encounter=encounter, pk=document_pk)
    if not document.original_file:
        raise Http404("This document has no uploaded original.")
    try:
        handle = document.original_file.open("rb")
    except FileNotFoundError as exc:
        raise Http404("The original file is missing from storage.") from exc
    selectors.document_open(user=request.user, document=document, request=request)
    response = FileResponse(
        handle,
        content_type=document.original_content_type or "application/octet-stream",
        as_attachment=request.GET.get("download") == "1",
        filename=document.original_name or "document",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'; style-src 'unsafe-inline'"
    return response


# --- coding workspace -----------------------------------------------------------------------


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _text_html(text: str) -> str:
    """Document text for a pre-wrap block. CR as a character reference survives HTML parsing,
    so character offsets in the browser match offsets into Document.text."""
    return mark_safe(escape(text).replace("\r", "&#13;"))


def _edits_of(encounter: Encounter) -> tuple[list[dict], str]:
    try:
        from encounters.coding import encounter_edits

        return encounter_edits(encounter=encounter), ""
    except ImportError:
        return [], "The edits engine is unavailable; codes are not being checked."
    except Exception:  # the workspace stays usable; the failure is logged for the team
        logger.exception("edits engine failed on encounter %s", encounter.pk)
        return [], "The edits engine could not check this encounter; try again or tell support."


def _can_edit(user, encounter: Encounter) -> bool:
    return (
        has_capability(user, Capability.CODE_ENCOUNTERS)
        and encounter.status in EDITABLE
        and (
            encounter.assignee_id in (None, user.pk)
            or has_capability(user, Capability.REVIEW_JUNIORS)
        )
    )


def _coding_context(user, encounter: Encounter) -> dict:
    diagnoses = list(encounter.diagnoses.select_related("evidence_document").order_by("sequence"))
    procedures = list(encounter.procedures.select_related("evidence_document").order_by("sequence"))
    edits, edits_note = _edits_of(encounter)
    groups = [
        {"severity": key, "label": label, "edits": [e for e in edits if e["severity"] == key]}
        for key, label in SEVERITIES
    ]
    flagged: dict[str, str] = {}
    for edit in edits:
        for code in edit["codes"]:
            if flagged.get(code) != "error":
                flagged[code] = edit["severity"]
    for item in [*diagnoses, *procedures]:
        item.flag = flagged.get(item.code, "")
    for procedure in procedures:
        procedure.modifier_slots = (list(procedure.modifiers) + [""] * 4)[:4]
    procedure_systems = services.procedure_systems_for(encounter)
    return {
        "encounter": encounter,
        "diagnoses": diagnoses,
        "procedures": procedures,
        "edits": edits,
        "edit_groups": [g for g in groups if g["edits"]],
        "edit_counts": {g["severity"]: len(g["edits"]) for g in groups},
        "edits_note": edits_note,
        "can_edit": _can_edit(user, encounter),
        "inpatient": encounter.type == Encounter.Type.INPATIENT,
        "poa_choices": DiagnosisAssignment.Poa.choices,
        "dos": encounter.date_of_service.isoformat(),
        "procedure_systems": [(s, SYSTEM_LABELS[s]) for s in procedure_systems],
        "errors_block": any(e["severity"] == "error" for e in edits),
    }


@capability_required(Capability.VIEW_CHARTS)
def workspace(request: HttpRequest, pk: int) -> HttpResponse:
    encounter = selectors.encounter_get_for(user=request.user, pk=pk)
    documents = list(encounter.documents.all())
    selectors.chart_open(
        user=request.user, encounter=encounter, documents=documents, request=request
    )
    for document in documents:
        document.text_html = _text_html(document.text)
    source_codes = list(encounter.source_codes.all())
    active: int | str | None = None
    if request.GET.get("doc") == "source" and source_codes:
        active = "source"
    elif request.GET.get("doc", "").isdigit():
        active = int(request.GET["doc"])
    if documents and active != "source" and active not in {d.pk for d in documents}:
        active = documents[0].pk
    user = request.user
    context = {
        **_coding_context(user, encounter),
        "documents": documents,
        "active_doc": active,
        "source_codes": source_codes,
        "patient": encounter.patient,
        "age": _age(encounter.patient.birth_date, encounter.date_of_service),
        "can_claim": has_capability(user, Capability.CODE_ENCOUNTERS)
        and encounter.status == Encounter.Status.READY
        and encounter.assignee_id is None,
        "can_unclaim": encounter.status == Encounter.Status.CODING
        and encounter.assignee_id == user.pk,
        "can_release": has_capability(user, Capability.INTAKE_CHARTS)
        and encounter.status == Encounter.Status.INTAKE,
        "can_intake": has_capability(user, Capability.INTAKE_CHARTS),
        "transitions": list(encounter.transitions.select_related("by").order_by("-at")[:8]),
    }
    return render(request, "encounters/workspace.html", context)


def _version(request: HttpRequest) -> int:
    try:
        return int(request.POST.get("version", ""))
    except ValueError:
        return -1


def _message_of(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return _error_text(exc)
    return str(exc)


def _fragment(name: str, context: dict, request: HttpRequest) -> str:
    return render_to_string(f"encounters/workspace.html#{name}", context, request=request)


def _coding_change(
    request: HttpRequest, pk: int, change: Callable[[Encounter, int], str], slot: str
) -> HttpResponse:
    """Run one coding change and answer with the pieces of the workspace that it touched.

    htmx: out-of-band fragments (code lists, edits, version, the evidence picker); on a stale
    version or a refused change only the message, so nothing the coder typed is lost.
    Without JavaScript: a message and back to the workspace.
    """
    encounter = selectors.encounter_get_for(user=request.user, pk=pk)
    error, stale, done = "", False, ""
    try:
        done = change(encounter, _version(request))
    except StaleEdit as exc:
        error, stale = str(exc), True
    except (ValidationError, PermissionDenied) as exc:
        error = _message_of(exc)
    if not _is_htmx(request):
        if error:
            messages.error(request, error)
        elif done:
            messages.success(request, done)
        return redirect("encounters:workspace", pk=pk)
    if error:
        context = {
            "oob": True,
            "slot": slot,
            "error": error,
            "stale": stale,
            "encounter": encounter,
        }
        html = _fragment("alert", context, request)
        if not stale:
            html += _fragment("slot-error", context, request)
        return HttpResponse(html)
    encounter.refresh_from_db()
    context = {**_coding_context(request.user, encounter), "oob": True, "done": done}
    html = "".join(
        _fragment(name, context, request)
        for name in ("diagnoses", "procedures", "edits", "version", "evidence-targets", "alert")
    )
    response = HttpResponse(html)
    response["HX-Trigger"] = "codingSaved"
    return response


def _int(value: str | None, label: str) -> int:
    try:
        return int(value or "")
    except ValueError as exc:
        raise ValidationError(f"{label} must be a whole number.") from exc


def _date_or_none(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValidationError(f"{value!r} is not a date (YYYY-MM-DD).") from exc


def _code_param(request: HttpRequest) -> str:
    code = (request.POST.get("code") or request.POST.get("q") or "").strip()
    if not code:
        raise ValidationError("Type a code, or pick one from the search results.")
    return code


@capability_required(Capability.CODE_ENCOUNTERS)
@require_POST
def diagnosis_add(request: HttpRequest, pk: int) -> HttpResponse:
    def change(encounter: Encounter, version: int) -> str:
        added = services.diagnosis_add(
            encounter=encounter,
            by=request.user,
            version=version,
            code=_code_param(request),
            poa=request.POST.get("poa", ""),
        )
        return f"{added.code} added as diagnosis {added.sequence}."

    return _coding_change(request, pk, change, "dx-error")


@capability_required(Capability.CODE_ENCOUNTERS)
@require_POST
def diagnosis_remove(request: HttpRequest, pk: int) -> HttpResponse:
    def change(encounter: Encounter, version: int) -> str:
        services.diagnosis_remove(
            encounter=encounter,
            by=request.user,
            version=version,
            diagnosis_id=_int(request.POST.get("diagnosis_id"), "The diagnosis"),
        )
        return "Diagnosis removed."

    return _coding_change(request, pk, change, "dx-error")


@capability_required(Capability.CODE_ENCOUNTERS)
@require_POST
def diagnosis_move(request: HttpRequest, pk: int) -> HttpResponse:
    def change(encounter: Encounter, version: int) -> str:
        position = _int(request.POST.get("position"), "The position")
        services.diagnosis_move(
            encounter=encounter,
            by=request.user,
            version=version,
            diagnosis_id=_int(request.POST.get("diagnosis_id"), "The diagnosis"),
            position=position,
        )
        return f"Diagnosis moved to position {position}."

    return _coding_change(request, pk, change, "dx-error")


@capability_required(Capability.CODE_ENCOUNTERS)
@require_POST
def diagnosis_poa(request: HttpRequest, pk: int) -> HttpResponse:
    def change(encounter: Encounter, version: int) -> str:
        services.diagnosis_set_poa(
            encounter=encounter,
            by=request.user,
            version=version,
            diagnosis_id=_int(request.POST.get("diagnosis_id"), "The diagnosis"),
            poa=request.POST.get("poa", ""),
        )
        return "POA indicator saved."

    return _coding_change(request, pk, change, "dx-error")


def _line_fields(request: HttpRequest) -> dict:
    pointers = [p for p in request.POST.get("diagnosis_pointers", "").replace(" ", ",").split(",")]
    return {
        "modifiers": request.POST.getlist("modifiers"),
        "units": _int(request.POST.get("units") or "1", "Units"),
        "performed_on": _date_or_none(request.POST.get("performed_on")),
        "diagnosis_pointers": [_int(p, "A diagnosis pointer") for p in pointers if p],
    }


@capability_required(Capability.CODE_ENCOUNTERS)
@require_POST
def procedure_add(request: HttpRequest, pk: int) -> HttpResponse:
    def change(encounter: Encounter, version: int) -> str:
        added = services.procedure_add(
            encounter=encounter,
            by=request.user,
            version=version,
            code=_code_param(request),
            system=request.POST.get("system") or None,
            **_line_fields(request),
        )
        return f"{added.code} added as procedure {added.sequence}."

    return _coding_change(request, pk, change, "px-error")


@capability_required(Capability.CODE_ENCOUNTERS)
@require_POST
def procedure_update(request: HttpRequest, pk: int) -> HttpResponse:
    procedure_id = request.POST.get("procedure_id", "")

    def change(encounter: Encounter, version: int) -> str:
        updated = services.procedure_update(
            encounter=encounter,
            by=request.user,
            version=version,
            procedure_id=_int(procedure_id, "The procedure"),
            **_line_fields(request),
        )
        return f"Procedure {updated.code} saved."

    slot = f"px-error-{procedure_id}" if procedure_id.isdigit() else "px-error"
    return _coding_change(request, pk, change, slot)


@capability_required(Capability.CODE_ENCOUNTERS)
@require_POST
def procedure_remove(request: HttpRequest, pk: int) -> HttpResponse:
    def change(encounter: Encounter, version: int) -> str:
        services.procedure_remove(
            encounter=encounter,
            by=request.user,
            version=version,
            procedure_id=_int(request.POST.get("procedure_id"), "The procedure"),
        )
        return "Procedure removed."

    return _coding_change(request, pk, change, "px-error")


@capability_required(Capability.CODE_ENCOUNTERS)
@require_POST
def procedure_move(request: HttpRequest, pk: int) -> HttpResponse:
    def change(encounter: Encounter, version: int) -> str:
        position = _int(request.POST.get("position"), "The position")
        services.procedure_move(
            encounter=encounter,
            by=request.user,
            version=version,
            procedure_id=_int(request.POST.get("procedure_id"), "The procedure"),
            position=position,
        )
        return f"Procedure moved to position {position}."

    return _coding_change(request, pk, change, "px-error")


@capability_required(Capability.CODE_ENCOUNTERS)
@require_POST
def evidence_attach(request: HttpRequest, pk: int) -> HttpResponse:
    def change(encounter: Encounter, version: int) -> str:
        kind, _sep, assignment = request.POST.get("target", "").partition(":")
        if kind not in ("diagnosis", "procedure") or not assignment:
            raise ValidationError("Choose the code this passage supports.")
        services.evidence_attach(
            encounter=encounter,
            by=request.user,
            version=version,
            kind=kind,
            assignment_id=_int(assignment, "The code"),
            document_id=_int(request.POST.get("document_id"), "The document"),
            start=_int(request.POST.get("start"), "The start of the passage"),
            end=_int(request.POST.get("end"), "The end of the passage"),
        )
        return "Evidence attached."

    return _coding_change(request, pk, change, "evidence-error")


@capability_required(Capability.CODE_ENCOUNTERS)
@require_POST
def encounter_submit(request: HttpRequest, pk: int) -> HttpResponse:
    encounter = selectors.encounter_get_for(user=request.user, pk=pk)
    reason = request.POST.get("override_reason", "")
    context = {
        "encounter": encounter,
        "override_reason": reason,
        "oob": True,
        "blocking": [],
        "can_edit": _can_edit(request.user, encounter),
    }
    try:
        services.encounter_submit(
            encounter=encounter, by=request.user, version=_version(request), override_reason=reason
        )
    except SubmitBlocked as exc:
        context.update(blocking=exc.errors, submit_error=str(exc))
    except StaleEdit as exc:
        context.update(submit_error=str(exc), stale=True)
    except (ValidationError, PermissionDenied) as exc:
        context["submit_error"] = _message_of(exc)
    else:
        messages.success(request, f"{encounter.account_number} was sent for review.")
        return _go(request, reverse("encounters:queue"))
    if not _is_htmx(request):
        messages.error(request, context["submit_error"])
        return redirect("encounters:workspace", pk=pk)
    return HttpResponse(_fragment("finish", context, request))


@capability_required(Capability.CODE_ENCOUNTERS)
@require_POST
def encounter_escalate(request: HttpRequest, pk: int) -> HttpResponse:
    encounter = selectors.encounter_get_for(user=request.user, pk=pk)
    reason = request.POST.get("reason", "")
    try:
        services.encounter_escalate(
            encounter=encounter, by=request.user, version=_version(request), reason=reason
        )
    except (StaleEdit, ValidationError, PermissionDenied) as exc:
        if not _is_htmx(request):
            messages.error(request, _message_of(exc))
            return redirect("encounters:workspace", pk=pk)
        context = {
            "encounter": encounter,
            "oob": True,
            "escalate_error": _message_of(exc),
            "escalate_reason": reason,
            "blocking": [],
            "can_edit": _can_edit(request.user, encounter),
        }
        return HttpResponse(_fragment("finish", context, request))
    messages.success(request, f"{encounter.account_number} was escalated as a complex case.")
    return _go(request, reverse("encounters:queue"))


def _go(request: HttpRequest, url: str) -> HttpResponse:
    if _is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


@capability_required(Capability.SEARCH_CODES)
def code_notes(request: HttpRequest, system: str, code: str) -> HttpResponse:
    """A code's tabular notes as a small fragment for the workspace's "notes" disclosure."""
    from codesets import selectors as code_selectors
    from codesets.views import _note_groups

    on = None
    if request.GET.get("date"):
        try:
            on = date.fromisoformat(request.GET["date"])
        except ValueError:
            on = None
    detail = code_selectors.code_detail(system=system, code=code, on=on)
    if detail is None:
        raise Http404(f"{code} is not a code in the release in force.")
    groups = _note_groups(detail) if detail.get("notes") else []
    return render(
        request,
        "encounters/_code_notes.html",
        {
            "detail": detail,
            "groups": groups,
            "system": system,
            "date": on.isoformat() if on else "",
        },
    )
