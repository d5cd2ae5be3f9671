"""Claims, denials and resubmission (included by encounters/urls.py, namespace "encounters").

Claim pages take the encounter's pk: one claim per encounter, reachable before billing too.
"""

from django.urls import path

from encounters.views import claims as views

urlpatterns = [
    path("claims/", views.denials, name="denials"),
    path("claims/ready/", views.claims_ready, name="claims_ready"),
    path("<int:pk>/bill/", views.claim_bill, name="claim_bill"),
    path("<int:pk>/billing/", views.claim_detail, name="claim_detail"),
    path("<int:pk>/billing/deny/", views.claim_deny, name="claim_deny"),
    path("<int:pk>/billing/correct/", views.claim_correct, name="claim_correct"),
    path("<int:pk>/billing/resubmit/", views.claim_resubmit, name="claim_resubmit"),
    path("<int:pk>/billing/appeal/", views.claim_appeal, name="claim_appeal"),
    path("<int:pk>/billing/appeal/print/", views.claim_appeal_print, name="claim_appeal_print"),
    path("<int:pk>/billing/paid/", views.claim_paid, name="claim_paid"),
    path("<int:pk>/billing/close/", views.claim_close, name="claim_close"),
]
