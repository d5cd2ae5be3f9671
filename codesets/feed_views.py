"""Release feed pages: list and register feeds, check one now, deactivate one (admins)."""

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.permissions import Capability, capability_required
from codesets import feeds
from codesets.importers import SYSTEMS
from codesets.models import Release, ReleaseFeed


class FeedForm(forms.Form):
    system = forms.ChoiceField(label="Code system")
    setting = forms.ChoiceField(
        label="Care setting",
        required=False,
        choices=[("", "From the file name / none"), *Release.Setting.choices[1:]],
        help_text="NCCI tables only.",
    )
    url = forms.URLField(
        label="File address",
        max_length=500,
        assume_scheme="https",
        # A text box (styled like the others) that still validates as an address.
        widget=forms.TextInput(
            attrs={"inputmode": "url", "placeholder": "https://www.cms.gov/files/zip/…"}
        ),
        help_text="The address of the file itself (zip, csv, txt, xlsx), not of a web page.",
    )
    label = forms.CharField(
        label="Label", max_length=100, help_text="Releases it finds are named “label + date”."
    )
    interval_hours = forms.IntegerField(
        label="Check every (hours)", min_value=1, max_value=24 * 90, initial=24
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["system"].choices = [
            (slug, info.name) for slug, info in sorted(SYSTEMS.items(), key=lambda i: i[1].name)
        ]


@capability_required(Capability.MANAGE_RELEASES)
def feed_list(request: HttpRequest) -> HttpResponse:
    form = FeedForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            feed = feeds.feed_register(**form.cleaned_data, by=request.user)
        except feeds.FeedError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request, f"Feed registered: it will be checked within {feed.interval_hours} h."
            )
            return redirect("codesets:feeds")
    status = 400 if form.errors else 200
    return render(
        request,
        "codesets/feeds/list.html",
        {"feeds": feeds.feeds_list(), "form": form},
        status=status,
    )


@capability_required(Capability.MANAGE_RELEASES)
@require_POST
def feed_check(request: HttpRequest, pk: int) -> HttpResponse:
    feed = get_object_or_404(ReleaseFeed.objects.select_related("system"), pk=pk)
    result = feeds.check_feed(feed=feed, by=request.user)
    if result.error:
        messages.error(request, f"{result.status} {result.error}")
    else:
        messages.success(request, result.status)
    if result.release is not None:
        return redirect("codesets:release_detail", release_id=result.release.pk)
    return redirect("codesets:feeds")


@capability_required(Capability.MANAGE_RELEASES)
@require_POST
def feed_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    feed = get_object_or_404(ReleaseFeed, pk=pk)
    feeds.feed_deactivate(feed=feed)
    messages.success(request, f"Feed deactivated: {feed.url} is no longer checked.")
    return redirect("codesets:feeds")
