"""`python manage.py demo`: demo users for each role and a few demo charts (idempotent)."""

from django.core.management.base import BaseCommand

from encounters.demo import demo_load


class Command(BaseCommand):
    help = "Create demo users (one per role) and demo charts; prints the sign-in details."

    def handle(self, *args, **options) -> None:
        users, encounters = demo_load()
        self.stdout.write("")
        self.stdout.write("Demo users (sign in at http://127.0.0.1:8000/sign-in/):")
        for username, password, role in users:
            self.stdout.write(f"  {role:<20} user {username:<14} password {password}")
        self.stdout.write(f"Demo charts: {encounters} encounters ready in the work queue.")
