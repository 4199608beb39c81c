"""The RSA keys that sign id_tokens (RS256) and their JWKS.

``OAUTH_PRIVATE_KEY`` (and ``OAUTH_PREVIOUS_PRIVATE_KEYS``) when set; otherwise keys kept in the
database (:class:`oauth.models.SigningKey`, sealed with ``SECRET``), the first one made on first
use, so every process and host signs with the same key. ``manage.py rotate_oauth_key`` makes a
new current key; the retired ones stay in the JWKS for :data:`RETIRED_PUBLISHED` so id_tokens
they signed still verify.

django-oauth-toolkit reads its keys from its settings object; :func:`install` puts the current
ones there (again after the access version moved: a rotation in another process moves it).
"""

from __future__ import annotations

from datetime import timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from oauth2_provider.settings import oauth2_settings

from accounts.accountability import VersionedTable, bump_access_version
from core.crypto import seal, unseal

PURPOSE = "oauth-signing-key"
RETIRED_PUBLISHED = timedelta(days=7)


def new_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _stored() -> tuple[str, tuple[str, ...]]:
    from oauth.models import SigningKey

    config = settings.DIRECTUS.oauth
    if config.private_key:
        return config.private_key, config.previous_private_keys
    current = SigningKey.objects.filter(current=True).first()
    if current is None:
        try:
            with transaction.atomic():
                current = SigningKey.objects.create(sealed_pem=seal(new_pem(), PURPOSE))
        except IntegrityError:  # another process made it first
            current = SigningKey.objects.get(current=True)
    since = timezone.now() - RETIRED_PUBLISHED
    retired = SigningKey.objects.filter(current__isnull=True, retired_at__gte=since)
    return unseal(current.sealed_pem, PURPOSE), tuple(
        unseal(k.sealed_pem, PURPOSE) for k in retired
    )


_keys = VersionedTable(_stored)


def install() -> None:
    """Hand the current keys to the toolkit's settings (cheap when they are already there)."""
    current, previous = _keys.get()
    if oauth2_settings.__dict__.get("OIDC_RSA_PRIVATE_KEY") == current:
        return
    for name, value in (
        ("OIDC_RSA_PRIVATE_KEY", current),
        ("OIDC_RSA_PRIVATE_KEYS_INACTIVE", list(previous)),
    ):
        setattr(oauth2_settings, name, value)
        oauth2_settings._cached_attrs.add(name)


def rotate() -> None:
    """Make a new current key (database keys only); the old one is retired and still published."""
    from oauth.models import SigningKey

    if settings.DIRECTUS.oauth.private_key:
        raise RuntimeError("OAUTH_PRIVATE_KEY is set: rotate it through the environment")
    with transaction.atomic():
        SigningKey.objects.filter(current=True).update(current=None, retired_at=timezone.now())
        SigningKey.objects.create(sealed_pem=seal(new_pem(), PURPOSE))
    bump_access_version()
    _keys.forget()
