"""Guideline bulletins: seniors publish news to roles or people, coders read and acknowledge it.

Who reads bulletins: every coder (junior, intermediate, senior) and an admin who also holds a
coder role, through that role. A plain admin reads none: bulletins are coding guidance, and
the release digests duplicate what admins already see on the release pages.

A bulletin's audience is everyone holding one of its `audience_roles` plus its `recipients`,
as they are now (someone promoted to senior sees what seniors were sent). Reading is recorded
as a BulletinAcknowledgement, one per person (unique constraint: a double click records one).
A bulletin that "requires acknowledgement" asks the coder to confirm they will apply it; the
others are simply marked read; both count as acknowledged for the senior's tracking.

Writes here take keyword arguments and run in one transaction; reads return only what the
user may see, in a fixed number of queries.
"""

import re
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import (
    BooleanField,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.http import Http404
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from accounts.models import CODER_ROLES, Role, User
from accounts.permissions import Capability, has_capability
from audits.models import Bulletin, BulletinAcknowledgement

# Kinds a senior publishes by hand; release digests are written by the digest task only.
PUBLISHABLE_KINDS = [(k.value, k.label) for k in Bulletin.Kind if k != Bulletin.Kind.RELEASE_DIGEST]
READER_ROLES = [r.value for r in CODER_ROLES]


def requires_acknowledgement(bulletin: Bulletin) -> bool:
    return bool(bulletin.detail.get("requires_acknowledgement", True))


# ---------------------------------------------------------------- who reads


def readers() -> QuerySet[User]:
    """Active users who read bulletins: coders, and admins who also code."""
    return User.objects.filter(is_active=True).filter(
        Q(role__in=READER_ROLES) | Q(role=Role.ADMIN, also_coder_role__in=READER_ROLES)
    )


def _roles_of(user: User) -> list[str]:
    return [r for r in (user.role, user.also_coder_role) if r in READER_ROLES]


def _role_addressed(role: str) -> Q:
    # The JSON list as text: `["junior", "senior"]`. A JSON `contains` lookup would use the
    # index on PostgreSQL but does not exist on SQLite (the embedded default); the quoted role
    # names are not substrings of one another, so the text match is exact.
    return Q(audience_roles_text__contains=f'"{role}"')


def _addressed_to(user: User) -> QuerySet[Bulletin]:
    """Bulletins addressed to `user` (withdrawn ones included), one row each."""
    named = Bulletin.recipients.through.objects.filter(bulletin_id=OuterRef("pk"), user_id=user.pk)
    addressed = Q(Exists(named))
    for role in _roles_of(user):
        addressed |= _role_addressed(role)
    as_text = Cast("audience_roles", TextField())
    return Bulletin.objects.annotate(audience_roles_text=as_text).filter(addressed)


def _in_audience(bulletin: Bulletin, user: User, recipient_ids: set[int]) -> bool:
    if not user.is_active:
        return False
    roles = set(_roles_of(user))
    return bool(roles & set(bulletin.audience_roles)) or (bool(roles) and user.pk in recipient_ids)


# ---------------------------------------------------------------- reader side


def bulletins_for(*, user: User) -> QuerySet[Bulletin]:
    """The reader's bulletins, unread first, newest first; each with `acknowledged_at`."""
    acknowledged = BulletinAcknowledgement.objects.filter(
        bulletin_id=OuterRef("pk"), user_id=user.pk
    ).values("acknowledged_at")[:1]
    return (
        _addressed_to(user)
        .filter(withdrawn_at__isnull=True)
        .select_related("release", "release__system", "published_by")
        .annotate(acknowledged_at=Subquery(acknowledged))
        .annotate(
            is_unread=ExpressionWrapper(
                Q(acknowledged_at__isnull=True), output_field=BooleanField()
            )
        )
        .order_by("-is_unread", "-published_at", "-pk")
    )


@dataclass(frozen=True)
class Unread:
    """What the home-page notice shows: how many, how many ask for acknowledgement, the
    newest few."""

    count: int
    to_acknowledge: int
    newest: list[dict]


def unread_for(*, user: User, show: int = 3) -> Unread:
    """One query: the reader's unread bulletins (few: they are acknowledged as they are read)."""
    # Only the flag out of `detail`: a digest's detail holds every changed code.
    rows = list(
        bulletins_for(user=user)
        .filter(acknowledged_at__isnull=True)
        .values("pk", "title", "kind", "published_at", asks=KT("detail__requires_acknowledgement"))
    )
    # Text from JSON: "true" on PostgreSQL, "1" on SQLite; missing means the default, asked.
    asked = sum(1 for r in rows if r["asks"] is None or str(r["asks"]).lower() in ("true", "1"))
    return Unread(count=len(rows), to_acknowledge=asked, newest=rows[:show])


def bulletin_get_for(*, user: User, bulletin_id: int) -> Bulletin:
    """A bulletin the user may open: one addressed to them and not withdrawn, or, for a
    publisher, any. 404 otherwise (its existence is not news to anyone else)."""
    base = Bulletin.objects.select_related("release", "release__system", "published_by")
    if has_capability(user, Capability.PUBLISH_BULLETINS):
        bulletin = base.filter(pk=bulletin_id).first()
    else:
        visible = _addressed_to(user).filter(withdrawn_at__isnull=True).values("pk")
        bulletin = base.filter(pk=bulletin_id, pk__in=visible).first()
    if bulletin is None:
        raise Http404("No such bulletin.")
    return bulletin


def acknowledgement_of(*, bulletin: Bulletin, user: User) -> BulletinAcknowledgement | None:
    return BulletinAcknowledgement.objects.filter(bulletin=bulletin, user=user).first()


def is_addressed_to(*, bulletin: Bulletin, user: User) -> bool:
    return _addressed_to(user).filter(pk=bulletin.pk).exists()


@transaction.atomic
def bulletin_acknowledge(*, bulletin: Bulletin, user: User) -> tuple[BulletinAcknowledgement, bool]:
    """Record that `user` read (and, where asked, will apply) the bulletin. Returns the
    acknowledgement and whether it is new; a second click finds the first."""
    if bulletin.withdrawn_at is not None:
        raise ValidationError("This bulletin was withdrawn; there is nothing to acknowledge.")
    if not is_addressed_to(bulletin=bulletin, user=user):
        raise PermissionDenied("This bulletin is not addressed to you.")
    # get_or_create catches the unique-constraint race of two simultaneous clicks.
    return BulletinAcknowledgement.objects.get_or_create(bulletin=bulletin, user=user)


# ---------------------------------------------------------------- publisher side


def audience_label(bulletin: Bulletin) -> str:
    """ "junior coders, intermediate coders and 2 people", in words."""
    labels = {r.value: r.label.lower() + "s" for r in CODER_ROLES}
    parts = [labels[r] for r in bulletin.audience_roles if r in labels]
    people = bulletin.recipients.count()
    if people:
        parts.append(f"{people} {'person' if people == 1 else 'people'}")
    if len(parts) > 1:
        return f"{', '.join(parts[:-1])} and {parts[-1]}"
    return parts[0] if parts else "nobody"


@transaction.atomic
def bulletin_publish(
    *,
    by: User,
    title: str,
    kind: str,
    body: str,
    audience_roles: list[str],
    recipients: list[User] | QuerySet[User] = (),
    requires_acknowledgement: bool = True,
) -> Bulletin:
    if not has_capability(by, Capability.PUBLISH_BULLETINS):
        raise PermissionDenied("Only senior coders publish bulletins.")
    errors: dict[str, str] = {}
    title, body = title.strip(), body.strip()
    if not title:
        errors["title"] = "Give the bulletin a title."
    if kind not in dict(PUBLISHABLE_KINDS):
        errors["kind"] = "Choose what kind of bulletin this is."
    if not body:
        errors["body"] = "Write what the team needs to know."
    roles = sorted(set(audience_roles))
    if set(roles) - set(READER_ROLES):
        errors["audience_roles"] = "Bulletins go to coder roles only."
    people = list(recipients)
    reader_ids = set(readers().filter(pk__in=[p.pk for p in people]).values_list("pk", flat=True))
    if any(p.pk not in reader_ids for p in people):
        errors["recipients"] = "Bulletins go to active coders only."
    if not roles and not people:
        errors["audience_roles"] = "Choose at least one role or person to send it to."
    if errors:
        raise ValidationError(errors)
    bulletin = Bulletin.objects.create(
        title=title,
        kind=kind,
        body=body,
        audience_roles=roles,
        published_by=by,
        detail={"requires_acknowledgement": bool(requires_acknowledgement)},
    )
    if people:
        bulletin.recipients.set(people)
    return bulletin


@transaction.atomic
def bulletin_withdraw(*, bulletin: Bulletin, by: User) -> Bulletin:
    """Take a bulletin off everyone's list (it stays for the record). Withdrawing twice keeps
    the first time."""
    if not has_capability(by, Capability.PUBLISH_BULLETINS):
        raise PermissionDenied("Only senior coders withdraw bulletins.")
    locked = Bulletin.objects.select_for_update().get(pk=bulletin.pk)
    if locked.withdrawn_at is None:
        locked.withdrawn_at = timezone.now()
        locked.save(update_fields=["withdrawn_at"])
    return locked


@dataclass(frozen=True)
class AudienceMember:
    user: User
    acknowledged_at: datetime | None
    days_outstanding: int | None


@dataclass(frozen=True)
class Tracking:
    bulletin: Bulletin
    audience: int
    acknowledged: int

    @property
    def outstanding(self) -> int:
        return self.audience - self.acknowledged


def _audience_maps(
    bulletins: list[Bulletin],
) -> tuple[list[User], dict[int, set[int]], dict[int, dict[int, datetime]]]:
    """Readers, recipients per bulletin and acknowledgements per bulletin: three queries for
    any number of bulletins (teams are small; bulletins many)."""
    ids = [b.pk for b in bulletins]
    people = list(readers().order_by("last_name", "first_name", "username"))
    recipients: dict[int, set[int]] = {pk: set() for pk in ids}
    for bulletin_id, user_id in Bulletin.recipients.through.objects.filter(
        bulletin_id__in=ids
    ).values_list("bulletin_id", "user_id"):
        recipients[bulletin_id].add(user_id)
    acks: dict[int, dict[int, datetime]] = {pk: {} for pk in ids}
    for bulletin_id, user_id, at in BulletinAcknowledgement.objects.filter(
        bulletin_id__in=ids
    ).values_list("bulletin_id", "user_id", "acknowledged_at"):
        acks[bulletin_id][user_id] = at
    return people, recipients, acks


def bulletins_tracking(*, bulletins: list[Bulletin]) -> list[Tracking]:
    """Audience size and acknowledgements of each bulletin (a page of them)."""
    people, recipients, acks = _audience_maps(bulletins)
    rows = []
    for bulletin in bulletins:
        audience = [p for p in people if _in_audience(bulletin, p, recipients[bulletin.pk])]
        done = sum(1 for p in audience if p.pk in acks[bulletin.pk])
        rows.append(Tracking(bulletin=bulletin, audience=len(audience), acknowledged=done))
    return rows


def bulletins_published() -> QuerySet[Bulletin]:
    """Every bulletin, newest first, for the publishers' list."""
    return Bulletin.objects.select_related("published_by", "release", "release__system")


def bulletin_audience(*, bulletin: Bulletin) -> list[AudienceMember]:
    """Who the bulletin is for and whether each has acknowledged it: those who have not
    first, longest outstanding first. Days count from publication, or from the day the
    person joined if later."""
    people, recipients, acks = _audience_maps([bulletin])
    today = timezone.localdate()
    members = []
    for person in people:
        if not _in_audience(bulletin, person, recipients[bulletin.pk]):
            continue
        at = acks[bulletin.pk].get(person.pk)
        since = max(bulletin.published_at, person.date_joined)
        days = None if at else (today - timezone.localdate(since)).days
        members.append(AudienceMember(user=person, acknowledged_at=at, days_outstanding=days))
    members.sort(key=lambda m: (m.acknowledged_at is not None, -(m.days_outstanding or 0)))
    return members


# ---------------------------------------------------------------- the text


_BOLD = re.compile(r"\*\*(.+?)\*\*")
_CODE = re.compile(r"`([^`]+)`")
_ITEM = re.compile(r"^\s*[-*]\s+")


def _inline(escaped: str) -> str:
    return _CODE.sub(r"<code>\1</code>", _BOLD.sub(r"<strong>\1</strong>", escaped))


def body_html(text: str) -> SafeString:
    """The body as HTML from a small, safe Markdown subset: blank lines separate paragraphs,
    lines starting with "- " or "* " are list items, **bold** and `code` are kept. Everything
    is escaped first, so HTML typed into a bulletin shows as text and never runs."""
    blocks = re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip())
    out = []
    for block in blocks:
        lines = [line for line in block.split("\n") if line.strip()]
        if not lines:
            continue
        if all(_ITEM.match(line) for line in lines):
            items = "".join(f"<li>{_inline(escape(_ITEM.sub('', line)))}</li>" for line in lines)
            out.append(f"<ul>{items}</ul>")
        else:
            out.append(f"<p>{'<br>'.join(_inline(escape(line)) for line in lines)}</p>")
    return mark_safe("".join(out))  # every piece of text above was escaped
