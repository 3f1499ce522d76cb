"""`manage.py seed_users`: the test users, in Django's default user model.

Django's default User logs in by `username` (its USERNAME_FIELD), so the username is the e-mail
address: the login body is {"username": "alice@example.com", "password": "correct-horse"}.
"""
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

USERS = [
    ("alice@example.com", "correct-horse", True),
    ("inactive@example.com", "correct-horse", False),
]


class Command(BaseCommand):
    help = "Creates the test users (alice, active; inactive, not active)."

    def handle(self, *args, **options):
        User = get_user_model()
        for email, password, active in USERS:
            if User.objects.filter(username=email).exists():
                continue
            user = User.objects.create_user(username=email, email=email, password=password)
            user.is_active = active
            user.save(update_fields=["is_active"])
        self.stdout.write(f"seeded {len(USERS)} users")
