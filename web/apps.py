from __future__ import annotations

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class WebConfig(AppConfig):
    """HTML for people: the sign-in pages and the Django admin."""

    default = True
    name = "web"
    verbose_name = "Pages and admin"


class IdentityAdminConfig(admin_apps.AdminConfig):
    """``django.contrib.admin`` on the site that signs in through the one flow."""

    default = False
    default_site = "web.sites.IdentityAdminSite"
