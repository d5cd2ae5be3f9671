"""Bulletins: the reader's list, one bulletin (read and acknowledge), and for seniors the
publish form, the list of everything published with acknowledgement counts, and withdrawal.
Logic lives in audits/bulletins.py; the digest of a release is written by audits/digests.py.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.models import CODER_ROLES, User
from accounts.permissions import Capability, capability_required, has_capability
from audits import bulletins as service


class RecipientChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return f"{obj.get_full_name() or obj.username} — {obj.role_label}"


class BulletinForm(forms.Form):
    title = forms.CharField(max_length=200)
    kind = forms.ChoiceField(
        label="Kind", choices=service.PUBLISHABLE_KINDS, widget=forms.RadioSelect
    )
    body = forms.CharField(
        label="Text",
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text="Plain text. A blank line starts a paragraph; lines starting with “- ” make "
        "a list; **bold** and `code` are kept. HTML shows as typed.",
    )
    audience_roles = forms.MultipleChoiceField(
        label="Send to roles",
        choices=[(r.value, r.label) for r in CODER_ROLES],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    recipients = RecipientChoice(
        label="…and / or these people",
        queryset=User.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text="Ctrl- or Cmd-click to choose several.",
    )
    requires_acknowledgement = forms.BooleanField(
        label="Coders must acknowledge it",
        required=False,
        initial=True,
        help_text="Otherwise opening it and pressing “Mark as read” is enough.",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["recipients"].queryset = service.readers().order_by(
            "last_name", "first_name", "username"
        )

    def clean(self) -> dict:
        data = super().clean()
        if not data.get("audience_roles") and not data.get("recipients"):
            self.add_error("audience_roles", "Choose at least one role or person to send it to.")
        return data


@capability_required(Capability.CODE_ENCOUNTERS)
def bulletins(request: HttpRequest) -> HttpResponse:
    """My bulletins, unread first."""
    page = Paginator(service.bulletins_for(user=request.user), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "audits/bulletins/list.html",
        {
            "page": page,
            "tab": "mine",
            "can_publish": has_capability(request.user, Capability.PUBLISH_BULLETINS),
        },
    )


@capability_required(Capability.CODE_ENCOUNTERS)
def bulletin_detail(request: HttpRequest, bulletin_id: int) -> HttpResponse:
    bulletin = service.bulletin_get_for(user=request.user, bulletin_id=bulletin_id)
    can_publish = has_capability(request.user, Capability.PUBLISH_BULLETINS)
    addressed = bulletin.withdrawn_at is None and service.is_addressed_to(
        bulletin=bulletin, user=request.user
    )
    audience = service.bulletin_audience(bulletin=bulletin) if can_publish else None
    context = {
        "bulletin": bulletin,
        "body": service.body_html(bulletin.body),
        "requires_acknowledgement": service.requires_acknowledgement(bulletin),
        "addressed": addressed,
        "acknowledgement": service.acknowledgement_of(bulletin=bulletin, user=request.user)
        if addressed
        else None,
        "can_publish": can_publish,
        "audience_label": service.audience_label(bulletin),
        "audience": audience,
        "acknowledged_count": sum(1 for m in audience or [] if m.acknowledged_at),
    }
    return render(request, "audits/bulletins/detail.html", context)


@capability_required(Capability.CODE_ENCOUNTERS)
@require_POST
def bulletin_acknowledge(request: HttpRequest, bulletin_id: int) -> HttpResponse:
    bulletin = service.bulletin_get_for(user=request.user, bulletin_id=bulletin_id)
    try:
        _, created = service.bulletin_acknowledge(bulletin=bulletin, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("audits:bulletin_detail", bulletin_id=bulletin.pk)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
        return redirect("audits:bulletin_detail", bulletin_id=bulletin.pk)
    verb = "Acknowledged" if service.requires_acknowledgement(bulletin) else "Marked as read"
    if created:
        messages.success(request, f"{verb}: {bulletin.title}.")
    else:
        messages.info(request, f"Already {verb.lower()}: {bulletin.title}.")
    return redirect("audits:bulletins")


@capability_required(Capability.PUBLISH_BULLETINS)
def bulletins_published(request: HttpRequest) -> HttpResponse:
    """Everything published, with how many have acknowledged each."""
    page = Paginator(service.bulletins_published(), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "audits/bulletins/published.html",
        {
            "page": page,
            "rows": service.bulletins_tracking(bulletins=list(page.object_list)),
            "tab": "published",
            "can_publish": True,
        },
    )


@capability_required(Capability.PUBLISH_BULLETINS)
def bulletin_new(request: HttpRequest) -> HttpResponse:
    form = BulletinForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            bulletin = service.bulletin_publish(
                by=request.user,
                title=data["title"],
                kind=data["kind"],
                body=data["body"],
                audience_roles=data["audience_roles"],
                recipients=data["recipients"],
                requires_acknowledgement=data["requires_acknowledgement"],
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, f"Published: {bulletin.title}.")
            return redirect("audits:bulletin_detail", bulletin_id=bulletin.pk)
    return render(
        request,
        "audits/bulletins/new.html",
        {"form": form, "tab": "new", "can_publish": True},
        status=400 if form.errors else 200,
    )


@capability_required(Capability.PUBLISH_BULLETINS)
@require_POST
def bulletin_withdraw(request: HttpRequest, bulletin_id: int) -> HttpResponse:
    bulletin = service.bulletin_get_for(user=request.user, bulletin_id=bulletin_id)
    bulletin = service.bulletin_withdraw(bulletin=bulletin, by=request.user)
    messages.success(request, f"Withdrawn: {bulletin.title}. Coders no longer see it.")
    return redirect("audits:bulletins_published")
