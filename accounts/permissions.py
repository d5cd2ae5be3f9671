"""The one place that says which role may do what.

Roles are a ladder for coders (senior ⊃ intermediate ⊃ junior). Admin is a separate branch:
users and releases, and no chart content unless the admin also holds a coder role.
Every view and API view names the capability it needs; tests walk the whole matrix.
"""

from collections.abc import Callable
from enum import StrEnum
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from rest_framework.permissions import BasePermission

from accounts.models import Role


class Capability(StrEnum):
    SEARCH_CODES = "search_codes"
    VIEW_RELEASES = "view_releases"
    # junior
    VIEW_CHARTS = "view_charts"
    INTAKE_CHARTS = "intake_charts"
    CODE_ENCOUNTERS = "code_encounters"
    # intermediate
    WORK_COMPLEX_CASES = "work_complex_cases"
    GROUP_DRG = "group_drg"
    MANAGE_QUERIES = "manage_queries"
    REVIEW_JUNIORS = "review_juniors"
    WORK_DENIALS = "work_denials"
    RUN_REPORTS = "run_reports"  # research reports, cohorts, de-identified export, providers
    # senior
    RUN_AUDITS = "run_audits"
    VIEW_QUALITY_METRICS = "view_quality_metrics"
    REVIEW_PHI_ACCESS = "review_phi_access"
    # senior and admin
    TUNE_CASE_RULES = "tune_case_rules"
    CONFIGURE_REPORTS = "configure_reports"  # high-risk code groups
    MANAGE_PRACTICE_CASES = "manage_practice_cases"
    PUBLISH_BULLETINS = "publish_bulletins"
    # admin
    MANAGE_USERS = "manage_users"
    MANAGE_RELEASES = "manage_releases"
    MAINTAIN_COVERAGE_RULES = "maintain_coverage_rules"


_JUNIOR = frozenset(
    {
        Capability.SEARCH_CODES,
        Capability.VIEW_RELEASES,
        Capability.VIEW_CHARTS,
        Capability.INTAKE_CHARTS,
        Capability.CODE_ENCOUNTERS,
    }
)
_INTERMEDIATE = _JUNIOR | {
    Capability.WORK_COMPLEX_CASES,
    Capability.GROUP_DRG,
    Capability.MANAGE_QUERIES,
    Capability.REVIEW_JUNIORS,
    Capability.WORK_DENIALS,
    Capability.RUN_REPORTS,
}
_SENIOR = _INTERMEDIATE | {
    Capability.RUN_AUDITS,
    Capability.VIEW_QUALITY_METRICS,
    Capability.REVIEW_PHI_ACCESS,
    Capability.TUNE_CASE_RULES,
    Capability.CONFIGURE_REPORTS,
    Capability.MANAGE_PRACTICE_CASES,
    Capability.PUBLISH_BULLETINS,
}
_ADMIN = frozenset(
    {
        Capability.SEARCH_CODES,
        Capability.VIEW_RELEASES,
        Capability.MANAGE_USERS,
        Capability.MANAGE_RELEASES,
        Capability.MAINTAIN_COVERAGE_RULES,
        Capability.TUNE_CASE_RULES,
    }
)

ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    Role.JUNIOR: frozenset(_JUNIOR),
    Role.INTERMEDIATE: frozenset(_INTERMEDIATE),
    Role.SENIOR: frozenset(_SENIOR),
    Role.ADMIN: _ADMIN,
}


def capabilities_of(user: Any) -> frozenset[Capability]:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    caps = ROLE_CAPABILITIES[user.role]
    if user.also_coder_role:
        caps = caps | ROLE_CAPABILITIES[user.also_coder_role]
    return caps


def has_capability(user: Any, capability: Capability) -> bool:
    return capability in capabilities_of(user)


def capability_required(capability: Capability) -> Callable:
    """Function-view decorator: anonymous users go to sign-in, others without it get 403."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_capability(request.user, capability):
                raise PermissionDenied(f"Your role cannot {capability.value.replace('_', ' ')}.")
            return view(request, *args, **kwargs)

        wrapped.required_capability = capability  # type: ignore[attr-defined]
        return wrapped

    return decorator


def public(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Marks a view as open to anonymous users, so the permission walk knows it is meant."""
    view.required_capability = None  # type: ignore[attr-defined]
    return view


def signed_in(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Any signed-in user, whatever the role."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    wrapped.required_capability = "signed_in"  # type: ignore[attr-defined]
    return wrapped


class HasCapability(BasePermission):
    """DRF permission: set `required_capability` on the API view."""

    def has_permission(self, request: Any, view: Any) -> bool:
        capability = getattr(view, "required_capability", None)
        if capability is None:
            return False
        return has_capability(request.user, capability)


# Where each role lands after sign-in, and what the top navigation offers.
HOME_URL_NAME: dict[str, str] = {
    Role.JUNIOR: "encounters:queue",
    Role.INTERMEDIATE: "encounters:complex",
    Role.SENIOR: "audits:home",
    Role.ADMIN: "accounts:admin_home",
}

# The top bar shows the sections a role has; the current section's pages show as tabs below.
NavItem = tuple[str, str, Capability]
NAVIGATION: list[tuple[str, list[NavItem]]] = [
    (
        "Coding",
        [
            ("My queue", "encounters:queue", Capability.CODE_ENCOUNTERS),
            ("Intake", "encounters:intake", Capability.INTAKE_CHARTS),
            ("Feedback", "encounters:feedback", Capability.CODE_ENCOUNTERS),
            ("Audit findings", "audits:my_findings", Capability.CODE_ENCOUNTERS),
            ("Needs recode", "encounters:recode_list", Capability.CODE_ENCOUNTERS),
            ("Practice", "audits:practice", Capability.CODE_ENCOUNTERS),
            ("Bulletins", "audits:bulletins", Capability.CODE_ENCOUNTERS),
        ],
    ),
    (
        "Cases",
        [
            ("Complex cases", "encounters:complex", Capability.WORK_COMPLEX_CASES),
            ("Reviews", "encounters:review_queue", Capability.REVIEW_JUNIORS),
            ("Queries", "encounters:queries", Capability.MANAGE_QUERIES),
            ("Denials", "encounters:denials", Capability.WORK_DENIALS),
        ],
    ),
    (
        "Quality",
        [
            ("Audit & QA", "audits:home", Capability.RUN_AUDITS),
            ("Dashboard", "audits:dashboard", Capability.VIEW_QUALITY_METRICS),
            ("Access log", "audits:access_review", Capability.REVIEW_PHI_ACCESS),
            ("Practice cases", "audits:practice_cases", Capability.MANAGE_PRACTICE_CASES),
        ],
    ),
    (
        "Reports",
        [
            ("Research", "audits:research", Capability.RUN_REPORTS),
            ("Cohorts", "audits:cohorts", Capability.RUN_REPORTS),
            ("Providers", "audits:provider_feedback", Capability.RUN_REPORTS),
            ("Suggestions", "encounters:assist_acceptance", Capability.REVIEW_JUNIORS),
        ],
    ),
    (
        "Codes",
        [
            ("Code search", "codesets:search", Capability.SEARCH_CODES),
            ("Releases", "codesets:releases", Capability.VIEW_RELEASES),
        ],
    ),
    ("Administration", [("Administration", "accounts:admin_home", Capability.MANAGE_USERS)]),
]
