"""The release digest: what an activated code-set release changed among the codes this team
actually uses, published to every coder as a bulletin, automatically.

codesets announces an activation (codesets.signals.release_activated, after commit); the
receiver below queues `audits.publish_release_digest`, which calls `release_digest_publish`.

What "the codes this team uses" means: the codes on diagnosis and procedure lines of real
encounters (practice charts excluded) admitted in the last 12 months, with how many encounters
carry each. Against the release it replaces (encounters.recode.release_replaced) and through
the one release diff (codesets.selectors.release_changes), the digest lists:
- used codes the release deleted;
- used codes whose description it changed;
- used codes that stopped being billable (it added more specific codes under them);
- new codes under the categories the team uses: the first three characters (the ICD-10-CM
  category, the ICD-10-PCS table, a hundred-code HCPCS range such as A42xx).

When nothing the team uses changed, the digest still goes out and says so: coders learn that
the release changed nothing for them. No digest is written for a system the team has not used
in the window (a fresh install loading its code sets), for a first release (nothing to
compare) or for tables no coder picks codes from (NCCI, MUE, modifiers).

One digest per release (unique constraint): a redelivered task finds the first one.
"""

import logging
from datetime import date, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from accounts.models import CODER_ROLES
from audits.models import Bulletin
from codesets.models import Code, Release
from codesets.selectors import release_changes
from encounters.recode import TARGETS, release_replaced

logger = logging.getLogger(__name__)

USAGE_WINDOW_DAYS = 365
# Shown in the bulletin body; the full lists stay in `detail` and on the bulletin page.
BODY_LIST_LIMIT = 15


def codes_in_use(*, system: str, since: date) -> dict[str, int]:
    """{code as coders write it: encounters carrying it} for real encounters admitted since
    `since`. One query."""
    target = TARGETS[system]
    rows = (
        target.model.objects.filter(
            target.only, encounter__is_practice=False, encounter__admit_date__gte=since
        )
        .values("code")
        .annotate(uses=Count("encounter", distinct=True))
    )
    return {row["code"]: row["uses"] for row in rows}


def _category(code: str) -> str:
    return code.replace(".", "")[:3]


def _category_label(system: str, category: str) -> str:
    return f"{category}xx" if system == "hcpcs" else category


def digest_build(*, release: Release, previous: Release, used: dict[str, int]) -> dict[str, Any]:
    """The changes from `previous` to `release` restricted to the `used` codes (see module)."""
    system = release.system.slug
    changes = release_changes(old=previous, new=release)
    deleted = [
        {"code": r["code"], "description": r["before"], "uses": used[r["code"]]}
        for r in changes["deleted"]
        if r["code"] in used
    ]
    revised = [
        {
            "code": r["code"],
            "before": r["before"],
            "after": r["after"],
            "uses": used[r["code"]],
        }
        for r in changes["revised"]
        if r["code"] in used
    ]

    # Added rows under a used category, with what they are (codes, not chapter or block
    # headers a newer source format adds): one query.
    categories: dict[str, int] = {}
    for code, uses in used.items():
        categories[_category(code)] = categories.get(_category(code), 0) + uses
    near = [r["code"] for r in changes["added"] if _category(r["code"]) in categories]
    new_rows = list(
        Code.objects.filter(release=release, display__in=near, kind=Code.Kind.CODE)
        .order_by("sort_key")
        .values("display", "description", "billable")
    )
    added = [
        {
            "code": row["display"],
            "description": row["description"],
            "billable": row["billable"],
            "category": _category_label(system, _category(row["display"])),
            "category_uses": categories[_category(row["display"])],
        }
        for row in new_rows
    ]

    # Billable before, a header now: one query for both releases' rows of the used codes.
    flags: dict[tuple[int, str], tuple[bool, str]] = {
        (release_id, display): (billable, description)
        for release_id, display, billable, description in Code.objects.filter(
            release__in=[previous, release], display__in=list(used)
        ).values_list("release_id", "display", "billable", "description")
    }
    not_billable = []
    for code in sorted(used):
        before, after = flags.get((previous.pk, code)), flags.get((release.pk, code))
        if before and after and before[0] and not after[0]:
            not_billable.append(
                {
                    "code": code,
                    "description": after[1],
                    "uses": used[code],
                    "children": [
                        r["display"]
                        for r in new_rows
                        if r["display"].startswith(code) and r["display"] != code
                    ],
                }
            )

    for rows, key in ((deleted, "uses"), (revised, "uses"), (not_billable, "uses")):
        rows.sort(key=lambda r, k=key: (-r[k], r["code"]))
    return {
        "system": system,
        "system_name": release.system.name,
        "release_id": release.pk,
        "release": release.label,
        "previous_release_id": previous.pk,
        "previous_release": previous.label,
        "effective_from": release.effective_from.isoformat(),
        "window_days": USAGE_WINDOW_DAYS,
        "codes_in_use": len(used),
        "deleted": deleted,
        "revised": revised,
        "not_billable": not_billable,
        "added": added,
        "requires_acknowledgement": True,
    }


def _lines(rows: list[dict], line) -> list[str]:
    shown = [f"- {line(r)}" for r in rows[:BODY_LIST_LIMIT]]
    if len(rows) > BODY_LIST_LIMIT:
        shown.append(f"- … and {len(rows) - BODY_LIST_LIMIT} more (listed below)")
    return shown


def _uses(n: int) -> str:
    return f"{n} encounter{'s' if n != 1 else ''}"


def digest_body(detail: dict[str, Any]) -> str:
    """The digest as plain text with the bulletin's small Markdown subset."""
    name = detail["system_name"]
    head = (
        f"{detail['release']} replaces {detail['previous_release']} from "
        f"{detail['effective_from']}. The team used {detail['codes_in_use']} {name} codes "
        f"in the last {detail['window_days'] // 30} months."
    )
    parts = [head]
    if not any(detail[k] for k in ("deleted", "revised", "not_billable", "added")):
        parts.append(
            "**Nothing changed for the codes the team uses.** No code used was deleted, "
            "revised or made non-billable, and no code was added under their categories."
        )
        return "\n\n".join(parts)
    if detail["deleted"]:
        parts.append(f"**Deleted ({len(detail['deleted'])})** — choose a valid code instead:")
        parts.append(
            "\n".join(_lines(detail["deleted"], lambda r: f"`{r['code']}` ({_uses(r['uses'])})"))
        )
    if detail["not_billable"]:
        parts.append(
            f"**No longer billable ({len(detail['not_billable'])})** — more specific codes "
            "were added; code to the new level:"
        )
        parts.append(
            "\n".join(
                _lines(
                    detail["not_billable"],
                    lambda r: f"`{r['code']}` ({_uses(r['uses'])}) → "
                    + ", ".join(f"`{c}`" for c in r["children"][:6])
                    + (" …" if len(r["children"]) > 6 else ""),
                )
            )
        )
    if detail["revised"]:
        parts.append(f"**Description changed ({len(detail['revised'])})** — check the meaning:")
        parts.append(
            "\n".join(_lines(detail["revised"], lambda r: f"`{r['code']}` ({_uses(r['uses'])})"))
        )
    if detail["added"]:
        parts.append(
            f"**New codes under categories the team uses ({len(detail['added'])})** — a more "
            "specific choice may now exist:"
        )
        by_category: dict[str, list[str]] = {}
        for row in detail["added"]:
            by_category.setdefault(row["category"], []).append(row["code"])
        uses = {row["category"]: row["category_uses"] for row in detail["added"]}
        groups = [
            {"category": c, "codes": codes, "uses": uses[c]} for c, codes in by_category.items()
        ]
        groups.sort(key=lambda g: (-g["uses"], g["category"]))
        parts.append(
            "\n".join(
                _lines(
                    groups,
                    lambda g: f"under `{g['category']}` ({_uses(g['uses'])}): "
                    + ", ".join(f"`{c}`" for c in g["codes"][:6])
                    + (f" and {len(g['codes']) - 6} more" if len(g["codes"]) > 6 else ""),
                )
            )
        )
    return "\n\n".join(parts)


def release_digest_publish(*, release_id: int, today: date | None = None) -> Bulletin | None:
    """Publish the digest of an activated release to every coder, once. Returns it (the one
    already there when run again), or None when there is nothing to digest (see module)."""
    release = Release.objects.select_related("system").filter(pk=release_id).first()
    if release is None or release.status != Release.Status.ACTIVE:
        logger.info("No digest for release %s: not an active release.", release_id)
        return None
    existing = Bulletin.objects.filter(kind=Bulletin.Kind.RELEASE_DIGEST, release=release).first()
    if existing is not None:
        return existing
    if release.system.slug not in TARGETS:
        return None
    previous = release_replaced(release=release)
    if previous is None:
        return None
    since = (today or timezone.localdate()) - timedelta(days=USAGE_WINDOW_DAYS)
    used = codes_in_use(system=release.system.slug, since=since)
    if not used:
        return None
    detail = digest_build(release=release, previous=previous, used=used)
    try:
        with transaction.atomic():
            return Bulletin.objects.create(
                title=f"Release digest: {release.label}",
                kind=Bulletin.Kind.RELEASE_DIGEST,
                body=digest_body(detail),
                audience_roles=[r.value for r in CODER_ROLES],
                release=release,
                detail=detail,
                published_by=None,
            )
    except IntegrityError:
        # Another delivery of the same task got there first.
        return Bulletin.objects.get(kind=Bulletin.Kind.RELEASE_DIGEST, release=release)


def on_release_activated(sender: Any, release: Release, **kwargs: Any) -> None:
    """Receiver of codesets.signals.release_activated (connected in AuditsConfig.ready): queue
    the digest once the current transaction commits. Nothing is queued for tables no coder
    picks codes from, nor while no encounter carries a code of the system (a fresh install
    loading its code sets needs no worker for it)."""
    from audits.tasks import publish_release_digest_task

    target = TARGETS.get(release.system.slug)
    if target is None or not target.model.objects.filter(target.only).exists():
        return
    transaction.on_commit(lambda: publish_release_digest_task.delay(release.pk))
