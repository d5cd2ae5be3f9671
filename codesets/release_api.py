"""REST API for code-set releases: list, detail with import progress, register by upload,
activate, retire. Reading needs VIEW_RELEASES (as the releases page); changing them needs
MANAGE_RELEASES. Thin: codesets/release_admin.py does the work, as for the admin pages.
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.permissions import Capability
from codesets import release_admin, selectors
from codesets.importers import SYSTEMS
from codesets.importers.base import formats_for
from codesets.models import Release
from encounters.api import ERRORS, ServiceApiView, _validated

IMPORTABLE = [slug for slug in SYSTEMS if formats_for(slug)]


class ReleaseOut(serializers.Serializer):
    id = serializers.IntegerField()
    system = serializers.CharField()
    setting = serializers.CharField(allow_blank=True)
    label = serializers.CharField()
    status = serializers.ChoiceField(choices=Release.Status.choices)
    effective_from = serializers.DateField()
    effective_to = serializers.DateField(allow_null=True)
    source = serializers.CharField()
    source_name = serializers.CharField()
    checksum = serializers.CharField()
    row_count = serializers.IntegerField()
    counts = serializers.DictField()
    error = serializers.CharField(allow_blank=True)


class ReleaseDetailOut(ReleaseOut):
    activate_on = serializers.DateField(allow_null=True)
    progress_done = serializers.IntegerField()
    progress_total = serializers.IntegerField()
    running = serializers.BooleanField(help_text="Still importing: poll for progress.")


class ReleaseListOut(serializers.Serializer):
    results = ReleaseOut(many=True)


class ReleaseListIn(serializers.Serializer):
    system = serializers.ChoiceField(choices=list(SYSTEMS), required=False)


class ReleaseUploadIn(serializers.Serializer):
    file = serializers.FileField(help_text="A CMS file as published (zip, xlsx, csv, txt, xml).")
    system = serializers.ChoiceField(
        choices=["", *IMPORTABLE], required=False, default="", help_text="Blank: detect."
    )
    setting = serializers.ChoiceField(
        choices=["", *Release.Setting.values], required=False, default=""
    )
    label = serializers.CharField(
        max_length=120, required=False, default="", help_text="Blank: suggested from the name."
    )
    effective_from = serializers.DateField(
        required=False, allow_null=True, default=None, help_text="Blank: from the file name."
    )
    effective_to = serializers.DateField(required=False, allow_null=True, default=None)


class ReleaseRegisteredOut(serializers.Serializer):
    release = ReleaseDetailOut()
    queued = serializers.BooleanField(help_text="False when this file was imported before.")


def _detail(release: Release) -> dict:
    done, total = selectors.release_progress(release=release)
    running = release.status in (Release.Status.PENDING, Release.Status.IMPORTING)
    return {
        **selectors.release_as_dict(release),
        "activate_on": release.activate_on,
        "progress_done": done,
        "progress_total": total,
        "running": running,
    }


def _release(release_id: int) -> Release:
    release = Release.objects.select_related("system").filter(pk=release_id).first()
    if release is None:
        raise NotFound("No such release.")
    return release


class ReleaseListApi(ServiceApiView):
    parser_classes = [MultiPartParser, FormParser]

    def get_permissions(self):
        self.required_capability = (
            Capability.VIEW_RELEASES if self.request.method == "GET" else Capability.MANAGE_RELEASES
        )
        return super().get_permissions()

    @extend_schema(
        operation_id="releases_list",
        parameters=[OpenApiParameter("system", str, enum=list(SYSTEMS))],
        responses={200: ReleaseListOut, **ERRORS},
        summary="Code-set releases by system, setting and date",
    )
    def get(self, request: Request) -> Response:
        params = _validated(ReleaseListIn, request.query_params)
        rows = selectors.release_list(system=params.get("system"))
        return Response({"results": [selectors.release_as_dict(r) for r in rows]})

    @extend_schema(
        request={"multipart/form-data": ReleaseUploadIn},
        responses={201: ReleaseRegisteredOut, 200: ReleaseRegisteredOut, **ERRORS},
        summary="Upload a release file and queue its import (200 when imported before)",
    )
    def post(self, request: Request) -> Response:
        data = _validated(ReleaseUploadIn, request.data)
        staged = release_admin.release_stage_upload(uploaded=data["file"], system=data["system"])
        if staged.existing_release_id:
            release_admin.staged_discard(staged)
            existing = _release(staged.existing_release_id)
            return Response({"release": _detail(existing), "queued": False})
        try:
            system = data["system"] or staged.systems[0]
            suggestion = release_admin.release_suggest(system=system, name=staged.name)
            effective_from = data["effective_from"] or suggestion.effective_from
            if effective_from is None:
                from django.core.exceptions import ValidationError

                raise ValidationError(
                    {"effective_from": "The file name has no date: give the first day in force."}
                )
            release, queued = release_admin.release_create_from_staged(
                staged=staged,
                system=system,
                setting=data["setting"] or suggestion.setting,
                label=data["label"] or suggestion.label,
                effective_from=effective_from,
                effective_to=data["effective_to"] or suggestion.effective_to,
                created_by=request.user,
            )
        except Exception:
            release_admin.staged_discard(staged)  # nothing waits for a confirmation here
            raise
        code = status.HTTP_201_CREATED if queued else status.HTTP_200_OK
        return Response({"release": _detail(release), "queued": queued}, status=code)


class ReleaseDetailApi(ServiceApiView):
    required_capability = Capability.VIEW_RELEASES

    @extend_schema(
        responses={200: ReleaseDetailOut, **ERRORS},
        summary="One release with its import status and progress",
    )
    def get(self, request: Request, release_id: int) -> Response:
        return Response(_detail(_release(release_id)))


class ReleaseActivateApi(ServiceApiView):
    required_capability = Capability.MANAGE_RELEASES

    @extend_schema(
        request=None,
        responses={200: ReleaseDetailOut, **ERRORS},
        summary="Activate an imported release now (in force from its effective date)",
    )
    def post(self, request: Request, release_id: int) -> Response:
        release = release_admin.release_activate_now(release=_release(release_id))
        return Response(_detail(_release(release.pk)))


class ReleaseRetireApi(ServiceApiView):
    required_capability = Capability.MANAGE_RELEASES

    @extend_schema(
        request=None,
        responses={200: ReleaseDetailOut, **ERRORS},
        summary="Retire a release (never the only active one of its system)",
    )
    def post(self, request: Request, release_id: int) -> Response:
        release = release_admin.release_retire_checked(release=_release(release_id))
        return Response(_detail(_release(release.pk)))
