"""The Django admin: one module per app whose models it manages (autodiscovered as ``web.admin``),
on the :class:`web.sites.IdentityAdminSite`."""

from django.contrib import admin
from django.contrib.auth.models import Group

from web.admin import accounts, issuers, oauth, providers, tokens  # noqa: F401  (registers the model admins)

# Roles and policies are the access model; Django's groups would be a second, unused one.
admin.site.unregister(Group)
