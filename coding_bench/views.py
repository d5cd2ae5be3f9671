from django.db import connection
from django.http import HttpRequest, JsonResponse

from accounts.permissions import public


@public
def health(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("select 1")
    return JsonResponse({"status": "ok"})
