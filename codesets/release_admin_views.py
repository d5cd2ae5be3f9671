"""Release administration pages: upload or download a release file, confirm its details, watch
the import (live progress), activate now or on a date, retire.

Thin views: each parses its form and calls one function of codesets/release_admin.py or
codesets/services.py.
"""

from datetime import date

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.permissions import Capability, capability_required, has_capability
from codesets import release_admin, selectors
from codesets.importers import SYSTEMS, ImportFormatError
from codesets.importers.base import formats_for
from codesets.models import CodeSystem, Release
from codesets.services import ReleaseError

_IMPORTABLE = [slug for slug in SYSTEMS if formats_for(slug)]


def _system_choices(slugs: list[str]) -> list[tuple[str, str]]:
    return [(slug, SYSTEMS[slug].name) for slug in slugs]


class UploadForm(forms.Form):
    file = forms.FileField(
        required=False,
        label="Release file",
        help_text="A CMS file as published (zip, xlsx, csv, txt, xml; gzip is fine).",
    )
    url = forms.URLField(
        required=False,
        label="…or its address",
        assume_scheme="https",
        help_text="http:// or https://; downloaded by the server.",
        widget=forms.URLInput(attrs={"placeholder": "https://www.cms.gov/files/zip/…"}),
    )
    system = forms.ChoiceField(
        required=False,
        label="Code system",
        choices=[("", "Detect from the file"), *_system_choices(_IMPORTABLE)],
    )

    def clean(self) -> dict:
        data = super().clean()
        if not self.errors:
            if data.get("file") and data.get("url"):
                raise forms.ValidationError("Upload a file or give its address, not both.")
            if not data.get("file") and not data.get("url"):
                raise forms.ValidationError("Choose a file to upload, or give its address.")
        return data


class DetailsForm(forms.Form):
    system = forms.ChoiceField(label="Code system")
    setting = forms.ChoiceField(
        required=False,
        label="Care setting",
        choices=Release.Setting.choices,
        help_text="Only NCCI PTP and MUE tables have one.",
    )
    label = forms.CharField(max_length=120, help_text="How coders and admins will name it.")
    effective_from = forms.DateField(
        label="In force from",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="First date of service it applies to.",
    )
    effective_to = forms.DateField(
        required=False,
        label="Last day in force",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Usually empty: the next release closes it when activated.",
    )

    def __init__(self, *args, systems: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["system"].choices = _system_choices(systems)


def _release_for(release_id: int) -> Release:
    return get_object_or_404(Release.objects.select_related("system", "created_by"), pk=release_id)


@capability_required(Capability.MANAGE_RELEASES)
def release_upload(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if data["file"]:
                staged = release_admin.release_stage_upload(
                    uploaded=data["file"], system=data["system"]
                )
            else:
                staged = release_admin.release_stage_url(url=data["url"], system=data["system"])
        except (ReleaseError, ImportFormatError) as exc:
            form.add_error(None, f"Nothing was imported. {exc}")
        else:
            if staged.existing_release_id:
                existing = Release.objects.get(pk=staged.existing_release_id)
                messages.info(
                    request,
                    f"This file was imported before, as “{existing.label}”: that release is "
                    "shown below. Nothing new was created.",
                )
                return redirect("codesets:release_detail", release_id=existing.pk)
            return redirect(f"{reverse('codesets:release_confirm')}?staged={staged.token}")
    context = {
        "form": form,
        "max_mb": settings.RELEASE_UPLOAD_MAX_BYTES // (1024 * 1024),
        "systems": [(slug, SYSTEMS[slug]) for slug in _IMPORTABLE],
    }
    return render(request, "codesets/release_admin/upload.html", context, status=200)


@capability_required(Capability.MANAGE_RELEASES)
def release_confirm(request: HttpRequest) -> HttpResponse:
    """Step two: the staged file's details, pre-filled from what its name says."""
    token = request.POST.get("staged") or request.GET.get("staged", "")
    staged = release_admin.staged_get(token)
    if staged is None:
        messages.error(
            request,
            "That uploaded file is no longer waiting (it was imported, discarded or is more than "
            "a day old). Upload it again.",
        )
        return redirect("codesets:release_upload")
    if request.method == "POST" and request.POST.get("discard"):
        release_admin.staged_discard(staged)
        messages.info(request, f"{staged.name} was discarded; nothing was imported.")
        return redirect("codesets:release_upload")
    wanted = request.POST.get("system") or request.GET.get("system") or staged.systems[0]
    system = wanted if wanted in staged.systems else staged.systems[0]
    suggestion = release_admin.release_suggest(system=system, name=staged.name)
    initial = {
        "system": system,
        "setting": suggestion.setting,
        "label": suggestion.label,
        "effective_from": suggestion.effective_from,
        "effective_to": suggestion.effective_to,
    }
    form = DetailsForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        systems=staged.systems,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            release, queued = release_admin.release_create_from_staged(
                staged=staged,
                system=data["system"],
                setting=data["setting"] or "",
                label=data["label"],
                effective_from=data["effective_from"],
                effective_to=data["effective_to"],
                created_by=request.user,
            )
        except (ReleaseError, ImportFormatError) as exc:
            form.add_error(None, str(exc))
        else:
            if queued:
                messages.success(request, f"Importing {release.label}: progress is shown below.")
            else:
                messages.info(
                    request, f"This file was imported before, as “{release.label}”. Nothing new."
                )
            return redirect("codesets:release_detail", release_id=release.pk)
    context = {
        "form": form,
        "staged": staged,
        "system": system,
        "system_name": SYSTEMS[system].name,
        "format_name": staged.formats.get(system, ""),
        "other_systems": [(s, SYSTEMS[s].name) for s in staged.systems if s != system],
        "suggestion": suggestion,
        "settings_allowed": [s for s in SYSTEMS[system].settings if s],
    }
    return render(request, "codesets/release_admin/confirm.html", context)


def _progress_context(release: Release) -> dict:
    done, total = selectors.release_progress(release=release)
    running = release.status in (Release.Status.PENDING, Release.Status.IMPORTING)
    if not running and release.status != Release.Status.FAILED:
        done = total = max(release.row_count, done)
    return {
        "release": release,
        "done": done,
        "total": total,
        "percent": min(100, round(100 * done / total)) if total else (0 if running else 100),
        "running": running,
        "counts": sorted(release.counts.items()) if release.counts else [],
    }


@capability_required(Capability.VIEW_RELEASES)
def release_detail(request: HttpRequest, release_id: int) -> HttpResponse:
    release = _release_for(release_id)
    base = release_admin.diff_base_for(release)
    changes = None
    settled = release.status in (
        Release.Status.IMPORTED,
        Release.Status.ACTIVE,
        Release.Status.RETIRED,
    )
    if base is not None and settled and release.system.kind == CodeSystem.Kind.CODES:
        diff = selectors.release_changes(old=base, new=release)
        changes = {kind: len(rows) for kind, rows in diff.items()}
    today = timezone.localdate()
    context = {
        **_progress_context(release),
        "base": base,
        "changes": changes,
        "can_manage": has_capability(request.user, Capability.MANAGE_RELEASES),
        "today": today,
        "schedule_default": max(release.effective_from, today),
        "scheduled_overdue": bool(release.activate_on and release.activate_on < today),
    }
    return render(request, "codesets/release_admin/detail.html", context)


@capability_required(Capability.VIEW_RELEASES)
def release_progress(request: HttpRequest, release_id: int) -> HttpResponse:
    """The progress fragment, polled every second by htmx while the import runs."""
    release = _release_for(release_id)
    context = _progress_context(release)
    response = render(request, "codesets/release_admin/detail.html#progress", context)
    if not context["running"] and request.headers.get("HX-Request") and request.GET.get("poll"):
        # The import just ended: reload the page once so the actions match the new status.
        response["HX-Refresh"] = "true"
    return response


@capability_required(Capability.MANAGE_RELEASES)
@require_POST
def release_activate(request: HttpRequest, release_id: int) -> HttpResponse:
    release = _release_for(release_id)
    try:
        release = release_admin.release_activate_now(release=release)
    except ReleaseError as exc:
        messages.error(request, f"Not activated. {exc}")
    else:
        until = release.effective_to.isoformat() if release.effective_to else "the next release"
        messages.success(
            request,
            f"{release.label} is active: in force from {release.effective_from.isoformat()} "
            f"until {until}.",
        )
    return redirect("codesets:release_detail", release_id=release.pk)


@capability_required(Capability.MANAGE_RELEASES)
@require_POST
def release_schedule(request: HttpRequest, release_id: int) -> HttpResponse:
    release = _release_for(release_id)
    if request.POST.get("cancel"):
        release_admin.release_schedule_cancel(release=release)
        messages.success(request, f"The scheduled activation of {release.label} is cancelled.")
        return redirect("codesets:release_detail", release_id=release.pk)
    try:
        on = date.fromisoformat(request.POST.get("activate_on", "").strip())
    except ValueError:
        messages.error(request, "Not scheduled: give the activation date as YYYY-MM-DD.")
        return redirect("codesets:release_detail", release_id=release.pk)
    try:
        release = release_admin.release_schedule(release=release, on=on)
    except ReleaseError as exc:
        messages.error(request, f"Not scheduled. {exc}")
    else:
        messages.success(
            request,
            f"{release.label} will be activated automatically on {on.isoformat()} "
            "(checked every few minutes that day).",
        )
    return redirect("codesets:release_detail", release_id=release.pk)


@capability_required(Capability.MANAGE_RELEASES)
@require_POST
def release_retire(request: HttpRequest, release_id: int) -> HttpResponse:
    release = _release_for(release_id)
    try:
        release = release_admin.release_retire_checked(release=release)
    except ReleaseError as exc:
        messages.error(request, f"Not retired. {exc}")
    else:
        messages.success(
            request,
            f"{release.label} is retired: dates of service no longer find it. Its codes stay "
            "for history and diffs.",
        )
    return redirect("codesets:release_detail", release_id=release.pk)
