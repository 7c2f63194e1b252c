import itertools

import pytest
from django.contrib.auth.models import Group, User

from kopilka.backoffice.roles import sync_roles

_names = itertools.count()


@pytest.fixture
def staff(db):
    """staff("support") is a new active staff user holding that role (roles are synced first)."""
    sync_roles()

    def make(*roles: str, **fields) -> User:
        user = User.objects.create_user(
            username=fields.pop("username", f"{roles[0] if roles else 'nobody'}-{next(_names)}"), password="pw",
            is_staff=True, **fields,
        )
        user.groups.set(Group.objects.filter(name__in=roles))
        return user

    return make
