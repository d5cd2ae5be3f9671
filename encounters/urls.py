from django.urls import path

from encounters import views

app_name = "encounters"

urlpatterns = [
    path("queue/", views.queue, name="queue"),
    path("complex/", views.complex_cases, name="complex"),
]
