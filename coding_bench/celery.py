import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coding_bench.settings")

app = Celery("coding_bench")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
