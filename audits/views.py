"""Audit & QA pages: the landing here; plans and samples (audits.plan_views), the blind
re-code, comparison and findings (audits.recode_views), the coder's findings on their work
and the senior's dispute list (audits.finding_views). The URL confs name them all through
this module.

Views parse the request, call one service or selector, and render.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.permissions import Capability, capability_required
from audits import selectors
from audits.finding_views import disputes, finding_resolve, finding_respond, my_findings
from audits.plan_views import plan_close, plan_detail, plan_list, plan_new, plan_sample
from audits.recode_views import (
    finding_edit,
    item_close,
    item_code_add,
    item_code_line,
    item_code_move,
    item_code_remove,
    item_complete,
    item_detail,
    item_start,
)

__all__ = [
    "disputes",
    "finding_edit",
    "finding_resolve",
    "finding_respond",
    "home",
    "item_close",
    "item_code_add",
    "item_code_line",
    "item_code_move",
    "item_code_remove",
    "item_complete",
    "item_detail",
    "item_start",
    "my_findings",
    "plan_close",
    "plan_detail",
    "plan_list",
    "plan_new",
    "plan_sample",
]


@capability_required(Capability.RUN_AUDITS)
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    return render(
        request,
        "audits/home.html",
        {
            "plans": list(selectors.plans_for(user=user)[:8]),
            "open_items": list(selectors.open_items_for(user=user)[:20]),
            "disputes": list(selectors.disputes_waiting(user=user)[:20]),
        },
    )
