"""Chart intake: patients, encounters, typed and uploaded documents, FHIR bundles, and the
checked view of uploaded originals."""

import logging

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.permissions import Capability, capability_required
from encounters import selectors, services
from encounters.fhir import FhirImportError, fhir_bundle_import
from encounters.models import Document, Encounter, Patient
from encounters.views.common import (
    QUEUE_PAGE_SIZE,
    DateInput,
    _add_service_errors,
    _error_text,
)

logger = logging.getLogger(__name__)

# --- intake ---------------------------------------------------------------------------------


class ChartForm(forms.Form):
    mrn = forms.CharField(label="MRN", max_length=64)
    last_name = forms.CharField(label="Last name", max_length=80)
    first_name = forms.CharField(label="First name", max_length=80)
    birth_date = forms.DateField(label="Birth date", widget=DateInput)
    sex = forms.ChoiceField(label="Sex", choices=Patient.Sex.choices)
    coverage = forms.CharField(label="Coverage", max_length=120, required=False)
    # Identifiers coding does not need: optional, stored encrypted, shown masked.
    member_id = forms.CharField(label="Member / subscriber id", max_length=64, required=False)
    ssn = forms.RegexField(
        label="SSN",
        regex=r"^\d{3}-?\d{2}-?\d{4}$",
        required=False,
        error_messages={"invalid": "Enter the SSN as 9 digits, e.g. 123-45-6789."},
    )
    phone = forms.CharField(label="Phone", max_length=40, required=False)
    address = forms.CharField(
        label="Address", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
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
            encounter = services.encounter_intake(by=request.user, data=data)
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
