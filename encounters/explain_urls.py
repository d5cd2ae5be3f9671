"""'Explain this coding' for an encounter and its printable versions (views/explain.py)."""

from django.urls import path

from encounters.views import explain

urlpatterns = [
    path("<int:pk>/explain/", explain.explain, name="explain"),
    path(
        "<int:pk>/explain/print/provider/",
        explain.explain_print_provider,
        name="explain_print_provider",
    ),
    path(
        "<int:pk>/explain/print/patient/",
        explain.explain_print_patient,
        name="explain_print_patient",
    ),
    path("<int:pk>/explain/sign-off/", explain.explain_sign_off, name="explain_sign_off"),
]
