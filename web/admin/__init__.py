"""The Django admin: one module per app whose models it manages (autodiscovered as ``web.admin``),
on the :class:`web.sites.IdentityAdminSite`."""

from web.admin import accounts, tokens  # noqa: F401  (registers the model admins)
