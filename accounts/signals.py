"""Invalidate cached accountabilities and permissions when access data changes."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.accountability import bump_access_version
from accounts.models import Access, Permission, Policy, Role, User

_ACCESS_MODELS = (Role, Policy, Access, Permission)


def _bump(sender: Any, **kwargs: Any) -> None:
    bump_access_version()


for _model in _ACCESS_MODELS:
    post_save.connect(_bump, sender=_model, dispatch_uid=f"bump-save-{_model.__name__}")
    post_delete.connect(_bump, sender=_model, dispatch_uid=f"bump-delete-{_model.__name__}")


@receiver(post_save, sender=User, dispatch_uid="bump-user-save")
def _user_saved(
    sender: type[User], instance: User, update_fields: Any = None, **kwargs: Any
) -> None:
    """A user's role or status is part of what their grants are computed from."""
    if update_fields is None or {"role", "status"} & set(update_fields):
        bump_access_version()


@receiver(post_delete, sender=User, dispatch_uid="bump-user-delete")
def _user_deleted(sender: type[User], **kwargs: Any) -> None:
    bump_access_version()
