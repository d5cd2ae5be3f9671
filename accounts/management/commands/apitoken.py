"""`manage.py apitoken create|revoke|show <username>`: API tokens for integrations.

`create` issues a new token (replacing any earlier one, which stops working at once) and prints
it: it is shown this once. `revoke` deletes the user's token. `show` says whether one exists
(never the token itself). A token acts as its user: same role, same capability checks.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from rest_framework.authtoken.models import Token

from accounts.models import User


class Command(BaseCommand):
    help = "Create, revoke or check a user's REST API token."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["create", "revoke", "show"])
        parser.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No user named {options['username']!r}.")
        action = options["action"]
        if action == "create":
            if not user.is_active:
                raise CommandError(f"{user.username} is deactivated; reactivate them first.")
            with transaction.atomic():
                replaced = Token.objects.filter(user=user).delete()[0] > 0
                token = Token.objects.create(user=user)
            self.stdout.write(token.key)
            note = " The previous token no longer works." if replaced else ""
            self.stderr.write(
                f"API token for {user.username} ({user.get_role_display()}): send it as "
                f"'Authorization: Token <token>'. It is shown only now.{note}"
            )
        elif action == "revoke":
            if not Token.objects.filter(user=user).delete()[0]:
                raise CommandError(f"{user.username} has no API token.")
            self.stdout.write(f"API token of {user.username} revoked.")
        else:
            exists = Token.objects.filter(user=user).first()
            if exists is None:
                self.stdout.write(f"{user.username} has no API token.")
            else:
                self.stdout.write(
                    f"{user.username} has an API token, created {exists.created:%Y-%m-%d %H:%M}."
                )
