"""Which encounters an audit plan samples, and why each one.

The draw is reproducible: candidates are ordered by primary key and drawn with
`random.Random(plan.seed)`, so the same seed over the same data gives the same sample.
Every chosen encounter carries a sentence that says how it was chosen (the pool, the
targets it matched, "draw 3 of 14").
"""

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Min, Q, QuerySet
from django.db.models.functions import Coalesce

from accounts.models import User
from audits.models import AuditPlan
from encounters.models import Encounter, Transition

S = Encounter.Status

# Pre-bill plans audit coded charts before they can be billed; post-bill plans audit what
# went out the door (billed, and every later step of the claim).
PRE_BILL_STATUSES = (S.CODED,)
POST_BILL_STATUSES = (S.BILLED, S.DENIED, S.CORRECTED, S.RESUBMITTED, S.CLOSED)


@dataclass
class Candidate:
    encounter: Encounter
    coder: User | None
    drg: dict[str, Any] = field(default_factory=dict)
    matched: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Pick:
    encounter: Encounter
    coder: User | None
    reason: str
    drg: dict[str, Any]


def plain_code(code: str) -> str:
    return code.strip().upper().replace(".", "")


def statuses_for(kind: str) -> tuple[str, ...]:
    return PRE_BILL_STATUSES if kind == AuditPlan.Kind.PRE_BILL else POST_BILL_STATUSES


def service_date_between(qs: QuerySet[Encounter], start: date, end: date) -> QuerySet[Encounter]:
    """Discharge date for stays, service (admit) date otherwise."""
    return qs.annotate(service_on=Coalesce("discharge_date", "admit_date")).filter(
        service_on__gte=start, service_on__lte=end
    )


def coders_of(encounter_ids: list[int]) -> dict[int, int | None]:
    """Who coded each encounter: who last submitted it for review, else who moved it to coded,
    else its assignee."""
    found: dict[int, int | None] = {}
    fallback: dict[int, int] = {}
    rows = (
        Transition.objects.filter(encounter_id__in=encounter_ids, to_status__in=[S.REVIEW, S.CODED])
        .order_by("at", "pk")
        .values_list("encounter_id", "to_status", "by_id")
    )
    for encounter_id, to_status, by_id in rows:
        if to_status == S.REVIEW:
            found[encounter_id] = by_id  # the last submission wins
        else:
            fallback[encounter_id] = by_id
    assignees = dict(
        Encounter.objects.filter(pk__in=encounter_ids).values_list("pk", "assignee_id")
    )
    return {pk: found.get(pk) or assignees.get(pk) or fallback.get(pk) for pk in encounter_ids}


def first_coded_on() -> dict[int, date]:
    """Each coder's first submission for review: when they started coding here."""
    rows = (
        Transition.objects.filter(to_status=S.REVIEW)
        .values("by_id")
        .annotate(first=Min("at"))
        .values_list("by_id", "first")
    )
    return {by_id: first.date() for by_id, first in rows}


def drg_of(encounter: Encounter) -> dict[str, Any]:
    """The MS-DRG of the encounter's codes as they stand (inpatient only); {"error"} if none."""
    if encounter.type != Encounter.Type.INPATIENT:
        return {}
    from codesets.drg import DrgError
    from encounters.drg_services import encounter_drg

    try:
        return encounter_drg(encounter=encounter).as_dict()
    except (DrgError, ValueError) as exc:
        return {"error": str(exc)}


def parse_family(text: str) -> tuple[int, int] | None:
    """A DRG family as a range of MS-DRG numbers: "291-293"."""
    parts = [p.strip() for p in text.replace("–", "-").split("-")]
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        return None
    low, high = int(parts[0]), int(parts[1])
    return (low, high) if low <= high else None


def code_matches(pattern: str, code: str) -> bool:
    """ "I50.*" or "I50*" is a prefix; anything else must be the code itself (dot optional)."""
    wanted = plain_code(pattern)
    if wanted.endswith("*"):
        return plain_code(code).startswith(wanted.rstrip("*"))
    return plain_code(code) == wanted


def describe_period(start: date, end: date) -> str:
    if start.day == 1 and (end + timedelta(days=1)).day == 1 and start.month == end.month:
        return f"in {start:%b %Y}"
    return f"{start:%Y-%m-%d} – {end:%Y-%m-%d}"


def _pool_words(plan: AuditPlan, targets: dict[str, Any], coder_names: dict[int, str]) -> str:
    """ "inpatient encounters for Medicare coded by jdoe": the pool in plain words."""
    types = targets.get("encounter_types") or []
    labels = [Encounter.Type(t).label.lower() for t in types if t in Encounter.Type.values]
    words = f"{' or '.join(labels)} encounters" if labels else "encounters"
    words = f"{'coded' if plan.kind == AuditPlan.Kind.PRE_BILL else 'billed'} {words}"
    if targets.get("payers"):
        words += f" for {', '.join(targets['payers'])}"
    coders = [coder_names.get(int(c), f"user {c}") for c in targets.get("coders") or []]
    if coders:
        words += f" coded by {', '.join(coders)}"
    return words


def _percent_count(percent: Decimal, size: int) -> int:
    """Half-up rounding, and at least one encounter from a pool that is not empty."""
    if size == 0:
        return 0
    exact = Decimal(size) * percent / Decimal(100)
    return min(size, max(1, int(exact.to_integral_value(rounding="ROUND_HALF_UP"))))


def candidates_for(plan: AuditPlan) -> list[Candidate]:
    """Encounters the plan may draw from, each with its coder and the targets it matched."""
    targets = plan.targets or {}
    qs = Encounter.objects.filter(status__in=statuses_for(plan.kind)).exclude(
        audit_items__plan=plan
    )
    qs = service_date_between(qs, plan.date_from, plan.date_to)
    if targets.get("encounter_types"):
        qs = qs.filter(type__in=targets["encounter_types"])
    if targets.get("payers"):
        payer_q = Q()
        for payer in targets["payers"]:
            payer_q |= Q(payer__iexact=payer)
        qs = qs.filter(payer_q)
    encounters = list(
        qs.select_related("patient", "assignee")
        .prefetch_related("diagnoses", "procedures")
        .order_by("pk")
    )
    coders = coders_of([e.pk for e in encounters])
    users = {u.pk: u for u in User.objects.filter(pk__in={c for c in coders.values() if c})}

    wanted_coders = {int(c) for c in targets.get("coders") or []}
    patterns = [p for p in targets.get("codes") or [] if p.strip()]
    drgs = {str(d).strip().zfill(3) for d in targets.get("drgs") or [] if str(d).strip()}
    families = [f for f in (parse_family(x) for x in targets.get("drg_families") or []) if f]
    min_weight = _decimal(targets.get("min_weight"))
    new_days = targets.get("new_coders_days")
    first_coded = first_coded_on() if new_days else {}
    needs_drg = bool(drgs or families or min_weight is not None)

    found: list[Candidate] = []
    for encounter in encounters:
        coder_id = coders.get(encounter.pk)
        candidate = Candidate(encounter=encounter, coder=users.get(coder_id))
        if wanted_coders and coder_id not in wanted_coders:
            continue
        if new_days:
            started = first_coded.get(coder_id) if coder_id else None
            if started is None or started < plan.date_to - timedelta(days=int(new_days)):
                continue
            candidate.matched.append(
                f"new coder (first coded {started:%Y-%m-%d}, within {int(new_days)} days)"
            )
        if patterns:
            hits = [
                f"{line.code} matches {pattern}"
                for line in [*encounter.diagnoses.all(), *encounter.procedures.all()]
                for pattern in patterns
                if code_matches(pattern, line.code)
            ]
            if not hits:
                continue
            candidate.matched.append("code " + ", ".join(dict.fromkeys(hits)))
        if needs_drg:
            candidate.drg = drg_of(encounter)
            number = candidate.drg.get("drg") or ""
            if not number:
                continue
            if drgs or families:
                in_family = [
                    f for f in families if number.isdigit() and f[0] <= int(number) <= f[1]
                ]
                if number in drgs:
                    candidate.matched.append(
                        f"DRG {number} {candidate.drg.get('description', '')}".strip()
                    )
                elif in_family:
                    low, high = in_family[0]
                    candidate.matched.append(f"DRG {number} in family {low:03d}–{high:03d}")
                else:
                    continue
            if min_weight is not None:
                weight = candidate.drg.get("weight")
                if weight is None or Decimal(str(weight)) < min_weight:
                    continue
                candidate.matched.append(f"relative weight {weight:.4f} ≥ {min_weight}")
        found.append(candidate)
    return found


def _decimal(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def draw(plan: AuditPlan) -> list[Pick]:
    """The plan's sample: reproducible from plan.seed, each pick with its reason."""
    candidates = candidates_for(plan)
    rng = random.Random(plan.seed)
    names = {c.coder.pk: c.coder.username for c in candidates if c.coder is not None}
    names.update(
        User.objects.filter(
            pk__in=[int(c) for c in (plan.targets or {}).get("coders") or []]
        ).values_list("pk", "username")
    )
    pool = _pool_words(plan, plan.targets or {}, names)
    # Per coder, the coder is named in each group's sentence already.
    pool_per_coder = _pool_words(plan, {**(plan.targets or {}), "coders": []}, names)
    period = describe_period(plan.date_from, plan.date_to)
    picks: list[Pick] = []

    def counted(words: str, n: int) -> str:
        return f"{n} {words.replace('encounters', 'encounter', 1) if n == 1 else words}"

    def pick(chosen: list[Candidate], prefix: str) -> None:
        for number, candidate in enumerate(chosen, start=1):
            reason = f"{prefix}; draw {number} of {len(chosen)}"
            if candidate.matched:
                reason += "; targeted: " + "; ".join(candidate.matched)
            picks.append(
                Pick(
                    encounter=candidate.encounter,
                    coder=candidate.coder,
                    reason=reason,
                    drg=candidate.drg,
                )
            )

    if plan.method == AuditPlan.Method.RANDOM_PERCENT:
        percent = Decimal(plan.percent or 0)
        count = _percent_count(percent, len(candidates))
        chosen = rng.sample(candidates, count)
        chosen.sort(key=lambda c: c.encounter.pk)
        pick(
            chosen, f"random {percent.normalize():f} % of {counted(pool, len(candidates))} {period}"
        )
    else:
        by_coder: dict[int | None, list[Candidate]] = defaultdict(list)
        for candidate in candidates:
            by_coder[candidate.coder.pk if candidate.coder else None].append(candidate)
        wanted = int(plan.per_coder or 0)
        # Coders in a fixed order (by id, unknown last) so the draw does not depend on dicts.
        for coder_id in sorted(by_coder, key=lambda c: (c is None, c or 0)):
            group = by_coder[coder_id]
            chosen = rng.sample(group, min(wanted, len(group)))
            chosen.sort(key=lambda c: c.encounter.pk)
            who = names.get(coder_id, "an unknown coder") if coder_id else "an unknown coder"
            pick(
                chosen,
                f"random {wanted} per coder: {len(chosen)} of "
                f"{counted(pool_per_coder, len(group))} coded by {who} {period}",
            )
    return picks
