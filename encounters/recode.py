"""Re-checking open encounters after a code-set release is activated: the "needs recode" list.

codesets sends `release_activated` once an activation has committed; the receiver below queues
`encounters.recheck_release`. That task finds the open encounters (not yet billed) that carry a
code the release deleted or whose description it revised, and hands them to
`encounters.recheck_batch` tasks, 500 encounters each, in encounter-id order. Each batch re-runs
the edits on its encounters and writes one RecodeFlag per encounter and release (written again,
never duplicated, when a batch runs twice).

Only encounters whose date of service falls on or after the release's effective date are
looked at (plus those not yet discharged): an encounter from before is coded against the
release in force on its date, which has not changed.
"""

import logging
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from accounts.permissions import Capability, has_capability
from codesets.models import Release
from codesets.selectors import release_changes
from encounters.models import (
    DiagnosisAssignment,
    Encounter,
    ProcedureAssignment,
    RecodeFlag,
    ReleaseRecheck,
)
from encounters.selectors import encounters_visible_to

logger = logging.getLogger(__name__)

BATCH_SIZE = 500

# Not yet billed: everything before billing, and the denied/corrected claims being reworked.
OPEN_STATUSES = (
    Encounter.Status.INTAKE,
    Encounter.Status.READY,
    Encounter.Status.CODING,
    Encounter.Status.COMPLEX,
    Encounter.Status.QUERY_PENDING,
    Encounter.Status.REVIEW,
    Encounter.Status.CODED,
    Encounter.Status.PRE_BILL_AUDIT,
    Encounter.Status.READY_TO_BILL,
    Encounter.Status.DENIED,
    Encounter.Status.CORRECTED,
)


@dataclass(frozen=True)
class _Target:
    """Which assignments a code system's release can change."""

    model: type[models.Model]
    only: Q


# Code systems whose codes sit on encounters. Edit tables (NCCI, MUE) and reference tables
# change no code a coder chose, so their activation re-checks nothing.
TARGETS: dict[str, _Target] = {
    "icd10cm": _Target(DiagnosisAssignment, Q()),
    "icd10pcs": _Target(ProcedureAssignment, Q(system=ProcedureAssignment.System.ICD10PCS)),
    "hcpcs": _Target(ProcedureAssignment, Q(system=ProcedureAssignment.System.HCPCS)),
}


# ---------------------------------------------------------------- what changed


def release_replaced(*, release: Release) -> Release | None:
    """The release this one took over from: the latest active (else retired) one before it."""
    earlier = Release.objects.filter(
        system_id=release.system_id,
        setting=release.setting,
        effective_from__lt=release.effective_from,
    ).order_by("-effective_from")
    return (
        earlier.filter(status=Release.Status.ACTIVE).first()
        or earlier.filter(status=Release.Status.RETIRED).first()
    )


def release_code_reasons(*, release: Release) -> dict[str, str]:
    """{code as coders write it: why it needs a look} for the codes the release deleted or
    revised, against the release it replaced. Empty when there is nothing to compare."""
    if release.system.slug not in TARGETS:
        return {}
    old = release_replaced(release=release)
    if old is None:
        return {}
    changes = release_changes(old=old, new=release)
    reasons: dict[str, str] = {}
    for row in changes["deleted"]:
        reasons[row["code"]] = f"{row['code']} deleted by {release.label}"
    for row in changes["revised"]:
        reasons[row["code"]] = (
            f"description of {row['code']} revised by {release.label}: "
            f"“{row['before']}” is now “{row['after']}”"
        )
    return reasons


def _candidates(*, release: Release, codes: list[str]) -> QuerySet[Encounter]:
    """Open encounters carrying one of `codes`: one query, whatever the number of encounters."""
    target = TARGETS[release.system.slug]
    carrying = target.model.objects.filter(target.only, encounter=OuterRef("pk"), code__in=codes)
    in_force = Q(discharge_date__isnull=True) | Q(discharge_date__gte=release.effective_from)
    if release.effective_to:
        in_force &= Q(discharge_date__isnull=True) | Q(discharge_date__lte=release.effective_to)
    return Encounter.objects.filter(in_force, Exists(carrying), status__in=OPEN_STATUSES)


# ---------------------------------------------------------------- the re-check


def recheck_queue(*, release: Release) -> ReleaseRecheck | None:
    """Record that a re-check is due and queue it once the current transaction commits."""
    from encounters.tasks import recheck_release_task

    if release.system.slug not in TARGETS:
        return None
    recheck, _ = ReleaseRecheck.objects.update_or_create(
        release=release,
        defaults={
            "status": ReleaseRecheck.Status.QUEUED,
            "done": 0,
            "total": 0,
            "error": "",
            "finished_at": None,
        },
    )
    if not Encounter.objects.filter(status__in=OPEN_STATUSES).exists():
        # Nothing open (a fresh install loading its code sets): done without a worker.
        _finish(recheck.pk, release)
        return recheck
    transaction.on_commit(lambda: recheck_release_task.delay(release.pk))
    return recheck


def on_release_activated(sender: Any, release: Release, **kwargs: Any) -> None:
    """Receiver of codesets.signals.release_activated (connected in EncountersConfig.ready)."""
    recheck_queue(release=release)


def recheck_start(*, release_id: int) -> tuple[ReleaseRecheck, list[str]] | None:
    """Count the encounters to look at and mark the re-check running.

    Returns (recheck, changed codes), or None when there is nothing to do (then it is done).
    """
    release = Release.objects.select_related("system").filter(pk=release_id).first()
    if release is None:
        logger.warning("Re-check of release %s skipped: no such release.", release_id)
        return None
    recheck, _ = ReleaseRecheck.objects.get_or_create(release=release)
    reasons = release_code_reasons(release=release)
    codes = sorted(reasons)
    total = _candidates(release=release, codes=codes).count() if codes else 0
    ReleaseRecheck.objects.filter(pk=recheck.pk).update(
        status=ReleaseRecheck.Status.RUNNING,
        total=total,
        done=0,
        error="",
        started_at=timezone.now(),
        finished_at=None,
    )
    if not total:
        _finish(recheck.pk, release)
        return None
    recheck.refresh_from_db()
    return recheck, codes


def recheck_batch(*, release_id: int, after_id: int = 0, done_before: int = 0) -> int | None:
    """Re-check the next BATCH_SIZE candidate encounters with ids above `after_id`.

    Returns the last encounter id handled, or None when this was the last batch (the re-check
    is then marked done). Safe to run twice: flags are upserted, progress is set, not added.
    """
    release = Release.objects.select_related("system").get(pk=release_id)
    reasons = release_code_reasons(release=release)
    codes = sorted(reasons)
    ids = list(
        _candidates(release=release, codes=codes)
        .filter(pk__gt=after_id)
        .order_by("pk")
        .values_list("pk", flat=True)[:BATCH_SIZE]
    )
    if ids:
        _flag(release=release, ids=ids, reasons=reasons)
    recheck = ReleaseRecheck.objects.get(release=release)
    done = done_before + len(ids)
    ReleaseRecheck.objects.filter(pk=recheck.pk).update(done=min(done, recheck.total or done))
    if len(ids) < BATCH_SIZE:
        _finish(recheck.pk, release)
        return None
    return ids[-1]


def _flag(*, release: Release, ids: list[int], reasons: dict[str, str]) -> None:
    from encounters.coding import encounter_edits

    target = TARGETS[release.system.slug]
    hits: dict[int, set[str]] = {}
    for encounter_id, code in target.model.objects.filter(
        target.only, encounter_id__in=ids, code__in=list(reasons)
    ).values_list("encounter_id", "code"):
        hits.setdefault(encounter_id, set()).add(code)
    encounters = list(
        Encounter.objects.filter(pk__in=ids).select_related("patient").prefetch_related("diagnoses")
    )
    if release.system.slug == "icd10cm":
        # Every candidate is dated inside this release: load the codes of the whole batch into
        # the edits engine's code book at once rather than a few queries per encounter.
        from codesets.edits.codebook import book, plain

        book("cm", release.pk).load({plain(d.code) for e in encounters for d in e.diagnoses.all()})
    flags = []
    for encounter in encounters:
        codes = sorted(hits.get(encounter.pk, ()))
        if not codes:
            continue
        try:
            edits = encounter_edits(encounter=encounter)
        except Exception as exc:  # one odd encounter must not stop the other 99,999
            logger.warning("Edits failed on encounter %s: %s", encounter.pk, exc)
            edits = [{"rule": "RECHECK", "severity": "error", "message": f"Edits failed: {exc}"}]
        flags.append(
            RecodeFlag(
                encounter=encounter,
                release=release,
                codes=codes,
                reason="; ".join(reasons[c] for c in codes),
                edits=edits,
            )
        )
    RecodeFlag.objects.bulk_create(
        flags,
        update_conflicts=True,
        unique_fields=["encounter", "release"],
        update_fields=["codes", "reason", "edits"],
    )


def _finish(recheck_pk: int, release: Release) -> None:
    now = timezone.now()
    ReleaseRecheck.objects.filter(pk=recheck_pk).update(
        status=ReleaseRecheck.Status.DONE,
        flagged=RecodeFlag.objects.filter(release=release).count(),
        started_at=Coalesce("started_at", Value(now)),
        finished_at=now,
    )


def recheck_fail(*, release_id: int, error: str) -> None:
    ReleaseRecheck.objects.filter(release_id=release_id).update(
        status=ReleaseRecheck.Status.FAILED, error=error[:2000], finished_at=timezone.now()
    )


def recheck_run(*, release: Release) -> ReleaseRecheck:
    """The whole re-check in this process, batch after batch (command line, benchmark)."""
    started = recheck_start(release_id=release.pk)
    if started is not None:
        after: int | None = 0
        done = 0
        while after is not None:
            last = recheck_batch(release_id=release.pk, after_id=after, done_before=done)
            done += BATCH_SIZE
            after = last
    return ReleaseRecheck.objects.get(release=release)


# ---------------------------------------------------------------- the list


def recode_flags_for(*, user: User, show: str = "open") -> QuerySet[RecodeFlag]:
    """The flags a user may see: coders those of the encounters they may open, release admins
    every flag (their page shows no chart content)."""
    flags = RecodeFlag.objects.select_related(
        "encounter", "encounter__assignee", "release", "release__system", "resolved_by"
    )
    if show == "open":
        flags = flags.filter(resolved_at__isnull=True)
    elif show == "resolved":
        flags = flags.filter(resolved_at__isnull=False)
    if has_capability(user, Capability.CODE_ENCOUNTERS):
        return flags.filter(encounter__in=encounters_visible_to(user=user).values("pk"))
    if has_capability(user, Capability.MANAGE_RELEASES):
        return flags
    return flags.none()


def recode_flags_for_encounter(*, encounter: Encounter) -> list[RecodeFlag]:
    return list(
        RecodeFlag.objects.select_related("release")
        .filter(encounter=encounter, resolved_at__isnull=True)
        .order_by("-created_at")
    )


def rechecks_recent(*, limit: int = 10) -> list[ReleaseRecheck]:
    return list(
        ReleaseRecheck.objects.select_related("release", "release__system").order_by(
            "-started_at", "-pk"
        )[:limit]
    )


# ---------------------------------------------------------------- resolving


def _current_codes(encounter_ids: list[int]) -> dict[int, set[str]]:
    codes: dict[int, set[str]] = {}
    for model in (DiagnosisAssignment, ProcedureAssignment):
        for encounter_id, code in model.objects.filter(encounter_id__in=encounter_ids).values_list(
            "encounter_id", "code"
        ):
            codes.setdefault(encounter_id, set()).add(code)
    return codes


def recode_flags_resolve_fixed(*, flags: list[RecodeFlag]) -> list[RecodeFlag]:
    """Resolve the open flags whose encounter no longer carries any of the flagged codes.

    Two queries for the whole page of flags. Returns the flags it resolved.
    """
    open_flags = [f for f in flags if f.resolved_at is None]
    if not open_flags:
        return []
    current = _current_codes([f.encounter_id for f in open_flags])
    fixed = [f for f in open_flags if not set(f.codes) & current.get(f.encounter_id, set())]
    if fixed:
        now = timezone.now()
        RecodeFlag.objects.filter(pk__in=[f.pk for f in fixed], resolved_at__isnull=True).update(
            resolved_at=now
        )
        for flag in fixed:
            flag.resolved_at = now
    return fixed


class RecodeError(ValueError):
    """A flag cannot be resolved as asked."""


@transaction.atomic
def recode_flag_resolve(*, flag: RecodeFlag, by: User) -> RecodeFlag:
    """A coder looked at the encounter and says the codes are right for the new release."""
    locked = RecodeFlag.objects.select_for_update().get(pk=flag.pk)
    if locked.resolved_at is not None:
        raise RecodeError("This flag was already resolved.")
    locked.resolved_at = timezone.now()
    locked.resolved_by = by
    locked.save(update_fields=["resolved_at", "resolved_by"])
    return locked
