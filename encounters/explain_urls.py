"""'Explain this coding' for an encounter and its printable versions (views/explain.py)."""

from django.urls import path

from encounters.views import explain

urlpatterns = [
    path("<int:pk>/explain/", explain.explain, name="explain"),
]
