"""Two-step sign-in pages (namespace "accounts")."""

from django.urls import path

from accounts import mfa_views

urlpatterns = [
    path("sign-in/code/", mfa_views.mfa_verify, name="mfa_verify"),
    path("account/two-step/", mfa_views.mfa_settings, name="mfa_settings"),
    path("account/two-step/set-up/", mfa_views.mfa_enrol, name="mfa_enrol"),
    path(
        "account/two-step/recovery-codes/",
        mfa_views.mfa_recovery_codes,
        name="mfa_recovery_codes",
    ),
    path(
        "account/two-step/recovery-codes/new/",
        mfa_views.mfa_recovery_regenerate,
        name="mfa_recovery_regenerate",
    ),
    path("account/two-step/turn-off/", mfa_views.mfa_disable, name="mfa_disable"),
]
